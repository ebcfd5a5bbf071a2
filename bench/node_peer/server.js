'use strict';
// A careful Node.js implementation of rowcache's JSON API (README.md), kept
// only as a peer for benchmarks (bench/compare.sh). What a competent Node team
// would ship: fastify, one worker per core (node:cluster), per worker one
// ioredis connection with auto-pipelining and a mysql2 pool; the same cache
// scheme as rowcache: key = prefix + "{id}", holding the row's JSON exactly as
// the API returns it.
//
//   read:  one MGET of the distinct ids; one SELECT ... WHERE id IN (...) for
//          the misses (or for all of them with USE_CACHE false); pipelined
//          SET EX fills of the rows found; rows in the order asked, null for
//          unknown ids. A cache that fails is bypassed (the database answers).
//   write: one transaction (an INSERT per row, ids in order), then pipelined
//          SETs of the new rows (write-through).
// Answers are byte for byte rowcache's ({"statusCode": 200, "body": [...]}).
// update and delete are not implemented (400). Unlike rowcache it takes no
// leases on misses (docs/reliability.md): fills are plain SET EX, so it does
// less work per miss than rowcache, never more.
//
// Dependencies are installed by bench/node_peer/install.sh (npm ci into
// ~/.cache); run with NODE_PATH pointing there:
//
//   NODE_PATH=$(bench/node_peer/install.sh) node bench/node_peer/server.js --port 0 \
//     --mysql-port 13306 --redis-port 16379 --table heroes
//
// prints "node peer listening on http://127.0.0.1:PORT" once every worker listens.
const cluster = require('node:cluster');
const os = require('node:os');
const { parseArgs } = require('node:util');

const { values: argv } = parseArgs({
  options: {
    port: { type: 'string', default: '8091' },
    host: { type: 'string', default: '127.0.0.1' },
    'mysql-host': { type: 'string', default: '127.0.0.1' },
    'mysql-port': { type: 'string', default: '13306' },
    'mysql-user': { type: 'string', default: 'rowcache' },
    'mysql-password': { type: 'string', default: 'rowcache' },
    'mysql-db': { type: 'string', default: 'rowcache' },
    'redis-host': { type: 'string', default: '127.0.0.1' },
    'redis-port': { type: 'string', default: '16379' },
    table: { type: 'string', default: 'heroes' },
    'key-prefix': { type: 'string', default: 'node:heroes:' },
    ttl: { type: 'string', default: '300' },
    workers: { type: 'string', default: String(os.availableParallelism()) },
    // Database connections in all (rowcache's --db-pool default), shared out between the workers.
    'db-pool': { type: 'string', default: '16' },
    'max-batch': { type: 'string', default: '1000' },
    'max-read-batch': { type: 'string', default: '11056' },
  },
});

function intArg(name, lo, hi) {
  const s = argv[name];
  const n = Number(s);
  if (!/^[0-9]+$/.test(s) || n < lo || n > hi) {
    console.error(`node peer: --${name}: expected an integer from ${lo} to ${hi}, got ${JSON.stringify(s)}`);
    process.exit(2);
  }
  return n;
}
const PORT = intArg('port', 0, 65535);
const WORKERS = intArg('workers', 1, 256);
const TTL = intArg('ttl', 1, 1e9);
const MAX_BATCH = intArg('max-batch', 1, 1e6); // writes
const MAX_READ_BATCH = intArg('max-read-batch', 1, 1e6); // reads (rowcache's --max-read-batch)
const DB_POOL = Math.max(1, Math.ceil(intArg('db-pool', 1, 10000) / WORKERS));
if (!/^[A-Za-z0-9_]{1,64}$/.test(argv.table)) {
  console.error(`node peer: --table: expected a plain table name, got ${JSON.stringify(argv.table)}`);
  process.exit(2);
}

if (cluster.isPrimary) {
  // The primary only forks and reports; the workers serve. All of them
  // listen on one port (with --port 0 the cluster gives them all the same one).
  let listening = 0;
  let stopping = false;
  cluster.on('listening', (worker, address) => {
    if (++listening === WORKERS) {
      console.log(`node peer listening on http://127.0.0.1:${address.port} (${WORKERS} worker${WORKERS > 1 ? 's' : ''}, pids ${
        Object.values(cluster.workers).map((w) => w.process.pid).join(' ')})`);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A benchmark peer that quietly restarts would hide a crash: stop instead.
    console.error(`node peer: worker ${worker.process.pid} exited (${signal || code}); stopping`);
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
    process.exit(1);
  });
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      stopping = true;
      for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
      process.exit(0);
    });
  }
  for (let i = 0; i < WORKERS; i++) cluster.fork();
} else {
  runWorker().catch((e) => {
    console.error(`node peer: worker ${process.pid}: ${e.stack || e}`);
    process.exit(1);
  });
}

// ------------------------------------------------------------------ worker

const MAX_ID = 2147483647;
const MIN_XP = -2147483648;
const MAX_XP = 2147483647;
const MAX_FIELD_CHARS = 20;
const ROW_FIELDS = ['hero', 'power', 'name', 'xp', 'color'];

class BadRequest extends Error {
  constructor(message, status = 400) {
    super(message);
    this.status = status;
  }
}

function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'boolean': return 'a boolean';
    case 'number': return Number.isInteger(v) ? 'an integer' : 'a number';
    case 'string': return 'a string';
    default: return 'an object';
  }
}

function quote(s) {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);
}

// An integer from a JSON number that is integral (7, 7.0) or a decimal string ("7").
function integerOf(v, path, what) {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 9e15) return v;
    throw new BadRequest(`${path}: expected ${what}, got ${Number.isFinite(v) ? String(v) : typeName(v)}`);
  }
  if (typeof v === 'string') {
    if (/^-?[0-9]{1,19}$/.test(v)) return Number(v);
    throw new BadRequest(`${path}: expected ${what}, got ${quote(v)}`);
  }
  throw new BadRequest(`${path}: expected ${what}, got ${typeName(v)}`);
}

function parseId(v, path) {
  const n = integerOf(v, path, 'an integer id');
  if (n < 1 || n > MAX_ID) throw new BadRequest(`${path}: id ${n} is out of range (1 to ${MAX_ID})`);
  return n;
}

function parseRow(v, index) {
  const where = `SQLS[${index}]`;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new BadRequest(`${where}: expected an object with hero, power, name, xp, color; got ${typeName(v)}`);
  }
  for (const k of Object.keys(v)) {
    if (k === 'id') throw new BadRequest(`${where}.id: ids are assigned by the database; leave id out of writes`);
    if (!ROW_FIELDS.includes(k)) {
      throw new BadRequest(`${where}.${k.slice(0, 40)}: unknown field (expected hero, power, name, xp, color)`);
    }
  }
  const row = {};
  for (const f of ROW_FIELDS) {
    const path = `${where}.${f}`;
    if (!(f in v)) throw new BadRequest(`${path}: missing`);
    const fv = v[f];
    if (f === 'xp') {
      const n = integerOf(fv, path, 'an integer');
      if (n < MIN_XP || n > MAX_XP) throw new BadRequest(`${path}: ${n} is out of range (${MIN_XP} to ${MAX_XP})`);
      row.xp = n;
      continue;
    }
    if (typeof fv !== 'string') throw new BadRequest(`${path}: expected a string, got ${typeName(fv)}`);
    let chars = 0;
    for (const _ of fv) chars++; // code points, as VARCHAR(20) counts them
    if (chars > MAX_FIELD_CHARS) throw new BadRequest(`${path}: ${chars} characters, more than ${MAX_FIELD_CHARS}`);
    row[f] = fv;
  }
  return row;
}

// The request, validated: { kind: 'read' | 'write', useCache, ids | rows }.
function parseEvent(text) {
  let ev;
  try {
    ev = JSON.parse(text);
  } catch (e) {
    throw new BadRequest(`request body: not valid JSON (${e.message})`);
  }
  if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) {
    throw new BadRequest(`request body: expected a JSON object, got ${typeName(ev)}`);
  }
  const r = ev.REQUEST;
  if (r === undefined) throw new BadRequest('REQUEST: missing (expected "read" or "write")');
  if (typeof r !== 'string') throw new BadRequest(`REQUEST: expected "read" or "write", got ${typeName(r)}`);
  const kind = r.toLowerCase();
  if (kind !== 'read' && kind !== 'write') {
    throw new BadRequest(`REQUEST: unknown value ${quote(r)} (the node peer answers "read" and "write" only)`);
  }
  let useCache = true;
  const u = ev.USE_CACHE;
  if (u !== undefined && u !== null) {
    if (typeof u === 'boolean') useCache = u;
    else if (typeof u === 'string' && u.toLowerCase() === 'true') useCache = true;
    else if (typeof u === 'string' && u.toLowerCase() === 'false') useCache = false;
    else {
      throw new BadRequest(`USE_CACHE: expected true, false, "True" or "False", got ${
        typeof u === 'string' ? quote(u) : typeName(u)}`);
    }
  }
  const sqls = ev.SQLS;
  if (sqls === undefined) throw new BadRequest('SQLS: missing (expected a list)');
  if (!Array.isArray(sqls)) throw new BadRequest(`SQLS: expected a list, got ${typeName(sqls)}`);
  const limit = kind === 'read' ? MAX_READ_BATCH : MAX_BATCH;
  if (sqls.length > limit) {
    throw new BadRequest(`SQLS: ${sqls.length} items, more than the limit of ${limit}${kind === 'read' ? ' for a read' : ''}`, 413);
  }
  if (kind === 'read') return { kind, useCache, ids: sqls.map((v, i) => parseId(v, `SQLS[${i}]`)) };
  return { kind, useCache, rows: sqls.map(parseRow) };
}

// The row's JSON exactly as rowcache writes it (src/core/row.cc): JSON.stringify
// escapes a well-formed string as AppendJsonString does.
function rowJson(r) {
  return `{"id": ${r.id}, "hero": ${JSON.stringify(r.hero)}, "power": ${JSON.stringify(r.power)}, "name": ${
    JSON.stringify(r.name)}, "xp": ${r.xp}, "color": ${JSON.stringify(r.color)}}`;
}

// A cached entry is used only if it is a row of that id (as rowcache checks).
function validEntry(text, id) {
  try {
    const o = JSON.parse(text);
    return o !== null && o.id === id && typeof o.hero === 'string' && Number.isInteger(o.xp);
  } catch {
    return false;
  }
}

function errorBody(status, message) {
  return `{"statusCode": ${status}, "body": {"error": ${JSON.stringify(message)}}}`;
}

async function runWorker() {
  const Fastify = require('fastify');
  const Redis = require('ioredis');
  const mysql = require('mysql2/promise');

  const table = argv.table;
  const prefix = argv['key-prefix'];
  const key = (id) => `${prefix}{${id}}`;
  const selectSql = `SELECT id, hero, power, name, xp, color FROM \`${table}\` WHERE id IN (?)`;
  const insertSql = `INSERT INTO \`${table}\` (hero, power, name, xp, color) VALUES (?, ?, ?, ?, ?)`;

  const redis = new Redis({
    host: argv['redis-host'],
    port: Number(argv['redis-port']),
    enableAutoPipelining: true,
    // rowcache's --cache-timeout-ms default: a slow or dead cache is bypassed, not waited for.
    commandTimeout: 250,
    connectTimeout: 250,
    maxRetriesPerRequest: 1,
  });
  redis.on('error', () => {}); // reconnects by itself; each failed command falls back to the database
  const pool = mysql.createPool({
    host: argv['mysql-host'],
    port: Number(argv['mysql-port']),
    user: argv['mysql-user'],
    password: argv['mysql-password'],
    database: argv['mysql-db'],
    charset: 'UTF8MB4_GENERAL_CI',
    connectionLimit: DB_POOL,
    maxIdle: DB_POOL,
    waitForConnections: true,
    connectTimeout: 5000,
  });

  async function fill(rows) {
    if (rows.length === 0) return;
    const p = redis.pipeline();
    for (const [id, text] of rows) p.set(key(id), text, 'EX', TTL);
    try {
      await p.exec(); // errors of single SETs come back as results: ignored, the next read misses
    } catch {
      // the cache is down: nothing to fill
    }
  }

  async function read(ids, useCache) {
    const distinct = [...new Set(ids)];
    const found = new Map(); // id -> the row's JSON
    if (useCache && distinct.length > 0) {
      let values = null;
      try {
        values = await redis.mget(distinct.map(key));
      } catch {
        // fail open: the database answers
      }
      if (values) {
        for (let i = 0; i < distinct.length; i++) {
          const v = values[i];
          if (v !== null && validEntry(v, distinct[i])) found.set(distinct[i], v);
        }
      }
    }
    const misses = found.size === distinct.length ? [] : distinct.filter((id) => !found.has(id));
    if (misses.length > 0) {
      const [rows] = await pool.query(selectSql, [misses]);
      const fills = [];
      for (const r of rows) {
        const text = rowJson(r);
        found.set(r.id, text);
        fills.push([r.id, text]);
      }
      if (useCache) await fill(fills);
    }
    let body = '{"statusCode": 200, "body": [';
    for (let i = 0; i < ids.length; i++) {
      if (i) body += ', ';
      body += found.get(ids[i]) ?? 'null';
    }
    return `${body}]}`;
  }

  async function write(rows, useCache) {
    const ids = [];
    if (rows.length > 0) {
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        for (const r of rows) {
          const [res] = await conn.query(insertSql, [r.hero, r.power, r.name, r.xp, r.color]);
          ids.push(res.insertId);
        }
        await conn.commit();
      } catch (e) {
        await conn.rollback().catch(() => {});
        throw e;
      } finally {
        conn.release();
      }
      if (useCache) await fill(rows.map((r, i) => [ids[i], rowJson({ id: ids[i], ...r })]));
    }
    return `{"statusCode": 200, "body": "write success", "ids": [${ids.join(', ')}]}`;
  }

  const app = Fastify({ logger: false, bodyLimit: 1 << 20, return503OnClosing: false });
  // Any Content-Type (wrk and curl -d send none or a form type), the body as text: parsed and checked below.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => done(null, body));

  app.post('/', async (req, reply) => {
    reply.type('application/json');
    let ev;
    try {
      ev = parseEvent(typeof req.body === 'string' ? req.body : '');
    } catch (e) {
      reply.code(e.status);
      return errorBody(e.status, e.message);
    }
    try {
      return ev.kind === 'read' ? await read(ev.ids, ev.useCache) : await write(ev.rows, ev.useCache);
    } catch (e) {
      reply.code(503);
      return errorBody(503, 'the database is unavailable');
    }
  });
  app.get('/healthz', async (req, reply) => {
    reply.type('application/json');
    try {
      await pool.query('SELECT 1');
      return '{"status": "ok"}';
    } catch {
      reply.code(503);
      return '{"status": "database unavailable"}';
    }
  });
  app.route({
    method: ['GET', 'PUT', 'DELETE', 'PATCH'],
    url: '/',
    handler: async (req, reply) => {
      reply.code(405).type('application/json');
      return errorBody(405, `method ${req.method} not allowed (POST the event to /)`);
    },
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).type('application/json').send(errorBody(404, `no such path: ${req.url}`));
  });
  app.setErrorHandler((err, req, reply) => {
    const status = err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const message = status === 413 ? 'request body: more than 1048576 bytes' : `request: ${err.message}`;
    reply.code(status).type('application/json').send(errorBody(status, message));
  });

  await app.listen({ host: argv.host, port: PORT });
  const stop = () => {
    app.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
