/**
 * The state-cache config the benchmark and the image test run with: loopback
 * listeners on the given ports, warnings only in the log (logging every
 * connection would cost the server CPU the benchmark measures).
 *
 *   ts-node runtime/bench/server-config.ts RESP_PORT HTTP_PORT [BIND]   # prints the JSON
 */
export function serverConfig(respPort: number, httpPort: number, bind = '127.0.0.1'): Record<string, unknown> {
  return {
    server: { bind, port: respPort },
    http: { bind, port: httpPort },
    log: { level: 'warn' },
  };
}

if (require.main === module) {
  const [resp, http, bind] = process.argv.slice(2);
  const respPort = Number(resp);
  const httpPort = Number(http);
  if (!Number.isInteger(respPort) || !Number.isInteger(httpPort) || respPort <= 0 || httpPort <= 0) {
    console.error(`usage: server-config.ts RESP_PORT HTTP_PORT [BIND] (got '${resp ?? ''}' '${http ?? ''}')`);
    process.exit(2);
  }
  console.log(JSON.stringify(serverConfig(respPort, httpPort, bind), null, 2));
}
