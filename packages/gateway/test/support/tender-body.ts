/** A valid tender body on DAL–HOU for tests: pickup `hoursAhead` hours from now for 4 hours, delivery 16 hours later. */
export function tenderBody(
  reference: string,
  over: Record<string, unknown> = {},
  hoursAhead = 6,
): Record<string, unknown> {
  const start = new Date(Date.now() + hoursAhead * 3_600_000);
  return {
    reference,
    origin: 'Dallas, TX',
    destination: 'Houston, TX',
    equipment: 'dry_van',
    weightKg: 12_000,
    hazmat: false,
    pickupWindow: {
      start: start.toISOString(),
      end: new Date(start.getTime() + 4 * 3_600_000).toISOString(),
    },
    deliverBy: new Date(start.getTime() + 20 * 3_600_000).toISOString(),
    ...over,
  };
}
