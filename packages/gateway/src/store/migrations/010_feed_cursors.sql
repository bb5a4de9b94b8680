-- Durable cursors of the gateway's outbound consumers (issue 6 webhooks and EDI 990/214, issue 7 SIEM
-- export): the last audit index each consumer has fully handled. The tender lifecycle feed
-- (tendering/lifecycle-feed.ts) and the audit log are both ordered by audit index, which is also their
-- commit order (the sequencer's table lock is held to commit), so a consumer that resumes after its cursor
-- misses nothing and, at worst, handles the last batch again (at-least-once).
CREATE TABLE feed_cursors (
  consumer text PRIMARY KEY CHECK (length(consumer) BETWEEN 1 AND 200),
  audit_index bigint NOT NULL CHECK (audit_index >= -1),
  updated_at timestamptz NOT NULL
);
