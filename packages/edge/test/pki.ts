/**
 * Test PKI made with the real openssl CLI (an outside authority, not our own code): a CA, a
 * gateway certificate for `gateway.test` and 127.0.0.1, a vehicle client certificate, and a rogue
 * CA with its own client and server certificates. EC P-256, valid for one day.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCaCert: string;
  rogueClientCert: string;
  rogueClientKey: string;
}

/** Runs openssl with a space-separated argument line (no argument here contains a space). */
function openssl(dir: string, line: string): void {
  execFileSync('openssl', line.split(' '), { cwd: dir, stdio: 'pipe' });
}

const NEW_P256_KEY = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';

function makeCa(dir: string, name: string): void {
  const extensions =
    '-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign';
  openssl(
    dir,
    `req -x509 ${NEW_P256_KEY} -keyout ${name}.key -out ${name}.pem -days 1 -subj /CN=${name} ${extensions}`,
  );
}

function makeLeaf(dir: string, ca: string, name: string, subject: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, `req -new ${NEW_P256_KEY} -keyout ${name}.key -out ${name}.csr -subj ${subject}`);
  const serial = `0x${randomBytes(16).toString('hex')}`;
  openssl(
    dir,
    `x509 -req -in ${name}.csr -CA ${ca}.pem -CAkey ${ca}.key -set_serial ${serial} -days 1 -sha256 ` +
      `-extfile ${name}.ext -out ${name}.pem`,
  );
}

export function makeTestPki(dir: string): TestPki {
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue-ca');
  const leaf = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n';
  makeLeaf(
    dir,
    'ca',
    'server',
    '/CN=gateway.test',
    `${leaf}extendedKeyUsage=serverAuth\nsubjectAltName=DNS:gateway.test,IP:127.0.0.1\n`,
  );
  makeLeaf(
    dir,
    'ca',
    'client',
    '/CN=TRK-0042',
    `${leaf}extendedKeyUsage=clientAuth\nsubjectAltName=URI:urn:fleetgate:vehicle:TRK-0042\n`,
  );
  makeLeaf(
    dir,
    'rogue-ca',
    'rogue-client',
    '/CN=TRK-0042',
    `${leaf}extendedKeyUsage=clientAuth\nsubjectAltName=URI:urn:fleetgate:vehicle:TRK-0042\n`,
  );
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return {
    caCert: read('ca.pem'),
    serverCert: read('server.pem'),
    serverKey: read('server.key'),
    clientCert: read('client.pem'),
    clientKey: read('client.key'),
    rogueCaCert: read('rogue-ca.pem'),
    rogueClientCert: read('rogue-client.pem'),
    rogueClientKey: read('rogue-client.key'),
  };
}
