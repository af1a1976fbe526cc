/** Connection commands: PING, AUTH, HELLO, SELECT, CLIENT and the like. */
import { argStr, argUpper, ClientState, CommandError, ERR_NOT_INT, ERR_SYNTAX, ERR_WRONGPASS, Handler, parseIntStrict, SERVER_VERSION, ServerContext, Spec, wrongArgs } from './commands';
import { DATABASES, markMultiDb } from './databases';
import { dropSubscriptions, subscriptionFields, subscriptions } from './pubsub';
import { clientCaching, clientGetRedir, clientTracking, clientTrackingInfo, trackingFields, trackingOff } from './tracking';
import { dropWatches } from './transactions';
// ---- connection -----------------------------------------------------------

const ping: Handler = (ctx, c, f) => {
  if (f.argc > 2) throw new CommandError(wrongArgs('ping'));
  if (!c.resp3 && subscriptions(c) > 0) {
    // RESP2 subscriber mode answers PING as a message.
    ctx.out.arrayHeader(2);
    ctx.out.bulk('pong');
    if (f.argc === 2) ctx.out.bulkBytes(f.args, f.starts[1], f.ends[1]);
    else ctx.out.bulk('');
    return;
  }
  if (f.argc === 2) ctx.out.bulkBytes(f.args, f.starts[1], f.ends[1]);
  else ctx.out.simple('PONG');
  void c;
};

const echo: Handler = (ctx, _c, f) => ctx.out.bulkBytes(f.args, f.starts[1], f.ends[1]);

function checkPassword(ctx: ServerContext, user: string, pass: string): boolean {
  return user === 'default' && ctx.password !== undefined && timingSafeEqualStr(pass, ctx.password);
}

function timingSafeEqualStr(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return ab.length === bb.length && require('node:crypto').timingSafeEqual(ab, bb);
}

const auth: Handler = (ctx, c, f) => {
  if (f.argc > 3) throw new CommandError(ERR_SYNTAX);
  if (ctx.password === undefined) {
    throw new CommandError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
  }
  const user = f.argc === 3 ? argStr(f, 1) : 'default';
  const pass = argStr(f, f.argc - 1);
  if (!checkPassword(ctx, user, pass)) throw new CommandError(ERR_WRONGPASS);
  c.authenticated = true;
  ctx.out.ok();
};

/** The Redis version whose commands and semantics state-cache implements (docs/commands.md lists them). */
const hello: Handler = (ctx, c, f) => {
  let proto = c.resp3 ? 3 : 2;
  let i = 1;
  if (f.argc >= 2) {
    const v = parseIntStrict(argStr(f, 1));
    if (v === null) throw new CommandError('ERR Protocol version is not an integer or out of range');
    if (v !== 2 && v !== 3) throw new CommandError('NOPROTO unsupported protocol version');
    proto = v;
    i = 2;
  }
  let name: string | undefined;
  for (; i < f.argc; i++) {
    const o = argUpper(f, i);
    if (o === 'AUTH' && i + 2 < f.argc) {
      const user = argStr(f, i + 1);
      const pass = argStr(f, i + 2);
      if (ctx.password === undefined) {
        throw new CommandError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
      }
      if (!checkPassword(ctx, user, pass)) throw new CommandError(ERR_WRONGPASS);
      c.authenticated = true;
      i += 2;
    } else if (o === 'SETNAME' && i + 1 < f.argc) {
      name = argStr(f, ++i);
      if (/[\s]/.test(name)) throw new CommandError('ERR Client names cannot contain spaces, newlines or special characters.');
    } else {throw new CommandError(`ERR Syntax error in HELLO option '${argStr(f, i)}'`);}
  }
  if (ctx.password !== undefined && !c.authenticated) throw new CommandError('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
  if (name !== undefined) c.name = name;
  c.resp3 = proto === 3;
  ctx.out.resp3 = c.resp3;
  ctx.out.mapHeader(7);
  ctx.out.bulk('server'); ctx.out.bulk('redis');
  ctx.out.bulk('version'); ctx.out.bulk(SERVER_VERSION);
  ctx.out.bulk('proto'); ctx.out.int(proto);
  ctx.out.bulk('id'); ctx.out.int(c.id);
  ctx.out.bulk('mode'); ctx.out.bulk(ctx.cluster !== undefined ? 'cluster' : 'standalone');
  ctx.out.bulk('role'); ctx.out.bulk('master');
  ctx.out.bulk('modules'); ctx.out.arrayHeader(0);
};

const select: Handler = (ctx, c, f) => {
  const n = parseIntStrict(argStr(f, 1));
  if (n === null) throw new CommandError(ERR_NOT_INT);
  if (ctx.cluster !== undefined && n !== 0) throw new CommandError('ERR SELECT is not allowed in cluster mode');
  if (n < 0 || n >= DATABASES) throw new CommandError('ERR DB index is out of range');
  if (n !== 0) markMultiDb(ctx.ks);
  c.db = n;
  ctx.out.ok();
};

const quit: Handler = (ctx, c) => {
  c.closeAfterReply = true;
  ctx.out.ok();
};

const reset: Handler = (ctx, c) => {
  dropSubscriptions(ctx, c);
  trackingOff(ctx, c);
  c.multi = null;
  c.multiFailed = false;
  dropWatches(ctx, c);
  c.resp3 = false;
  ctx.out.resp3 = false;
  c.db = 0;
  c.name = '';
  c.authenticated = ctx.password === undefined;
  ctx.out.simple('RESET');
};

export function clientLine(ctx: ServerContext, c: ClientState): string {
  const now = Date.now();
  return `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=-1 name=${c.name} age=${Math.floor((now - c.createdAt) / 1000)} `
    + `idle=${Math.floor((now - c.lastCommandAt) / 1000)} flags=${(subscriptions(c) > 0 ? 'P' : '') + (c.multi !== null ? 'x' : '') + trackingFields(c).flags || 'N'} db=${c.db} ${subscriptionFields(c)} `
    + `multi=${c.multi === null ? -1 : c.multi.length} watch=${c.watched?.size ?? 0} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 `
    + `rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=${c.lastCommand} user=default redir=${trackingFields(c).redir} resp=${c.resp3 ? 3 : 2} `
    + `lib-name=${c.libName} lib-ver=${c.libVer}`;
  void ctx;
}

const client: Handler = (ctx, c, f) => {
  const sub = argUpper(f, 1);
  switch (sub) {
    case 'SETNAME': {
      if (f.argc !== 3) throw new CommandError(wrongArgs('client|setname'));
      const name = argStr(f, 2);
      if (/[^!-~]/.test(name)) throw new CommandError('ERR Client names cannot contain spaces, newlines or special characters.');
      c.name = name;
      return ctx.out.ok();
    }
    case 'GETNAME':
      if (c.name === '') return ctx.out.nil();
      return ctx.out.bulk(c.name);
    case 'ID':
      return ctx.out.int(c.id);
    case 'INFO':
      return ctx.out.verbatim(clientLine(ctx, c) + '\n');
    case 'LIST': {
      let text = '';
      for (const other of ctx.clients.values()) text += clientLine(ctx, other) + '\n';
      return ctx.out.verbatim(text);
    }
    case 'SETINFO': {
      if (f.argc !== 4) throw new CommandError(wrongArgs('client|setinfo'));
      const attr = argUpper(f, 2);
      const v = argStr(f, 3);
      if (/[^!-~]/.test(v)) throw new CommandError(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
      if (attr === 'LIB-NAME') c.libName = v;
      else if (attr === 'LIB-VER') c.libVer = v;
      else throw new CommandError(`ERR Unrecognized option '${argStr(f, 2)}'`);
      return ctx.out.ok();
    }
    case 'KILL': {
      if (f.argc === 3) {
        const addr = argStr(f, 2);
        const victim = [...ctx.clients.values()].find((o) => o.addr === addr);
        if (victim === undefined) throw new CommandError('ERR No such client');
        victim.kill();
        return ctx.out.ok();
      }
      let killed = 0;
      const filters: Array<(o: ClientState) => boolean> = [];
      for (let i = 2; i < f.argc; i += 2) {
        if (i + 1 >= f.argc) throw new CommandError(ERR_SYNTAX);
        const k = argUpper(f, i);
        const v = argStr(f, i + 1);
        if (k === 'ID') {
          const id = parseIntStrict(v);
          if (id === null) throw new CommandError('ERR client-id should be greater than 0');
          filters.push((o) => o.id === id);
        } else if (k === 'ADDR') {filters.push((o) => o.addr === v);} else if (k === 'LADDR') {filters.push((o) => o.laddr === v);} else if (k === 'SKIPME') {
          if (v.toLowerCase() === 'yes') filters.push((o) => o !== c);
        } else {throw new CommandError(ERR_SYNTAX);}
      }
      for (const o of [...ctx.clients.values()]) {
        if (filters.every((p) => p(o))) {
          o.kill();
          killed++;
        }
      }
      return ctx.out.int(killed);
    }
    case 'TRACKING':
      return clientTracking(ctx, c, f);
    case 'CACHING':
      return clientCaching(ctx, c, f);
    case 'GETREDIR':
      return clientGetRedir(ctx, c);
    case 'TRACKINGINFO':
      return clientTrackingInfo(ctx, c);
    case 'NO-EVICT':
    case 'NO-TOUCH':
      return ctx.out.ok();
    case 'HELP':
      return ctx.out.value(['CLIENT <subcommand>', 'SETNAME <name>', 'GETNAME', 'ID', 'INFO', 'LIST', 'SETINFO <LIB-NAME|LIB-VER> <value>', 'KILL <addr> | KILL [ID <id>] [ADDR <addr>] [LADDR <addr>] [SKIPME yes|no]',
        'TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] [NOLOOP]', 'CACHING (YES|NO)', 'GETREDIR', 'TRACKINGINFO']);
    default:
      throw new CommandError(`ERR unknown subcommand '${argStr(f, 1)}'. Try CLIENT HELP.`);
  }
};

export const CONNECTION_SPECS: Spec[] = [
  ['ping', -1, 'fast', [0, 0, 0], 'connection', 'Returns the server\'s liveliness response.', ping],
  ['echo', 2, 'fast', [0, 0, 0], 'connection', 'Returns the given string.', echo],
  ['hello', -1, 'noscript loading stale fast no_auth allow_busy', [0, 0, 0], 'connection', 'Handshakes with the Redis server.', hello],
  ['auth', -2, 'noscript loading stale fast no_auth allow_busy', [0, 0, 0], 'connection', 'Authenticates the connection.', auth],
  ['client', -2, 'admin noscript loading stale', [0, 0, 0], 'connection', 'A container for client connection commands.', client],
  ['select', 2, 'loading stale fast', [0, 0, 0], 'connection', 'Changes the selected database.', select],
  ['quit', -1, 'noscript loading stale fast no_auth allow_busy', [0, 0, 0], 'connection', 'Closes the connection.', quit],
  ['reset', 1, 'noscript loading stale fast no_auth allow_busy', [0, 0, 0], 'connection', 'Resets the connection.', reset],
];
