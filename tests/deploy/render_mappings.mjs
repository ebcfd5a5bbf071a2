// API Gateway's mapping templates of deploy/template.yaml, executed against
// REAL outputs of the rowcache Lambda runtime.
//
// For each case a client request goes through the whole non-proxy path as
// API Gateway would take it:
//   1. the method's request template for the request's content type is
//      rendered (Velocity, with $input over the client's body) into the event;
//   2. the real binary (`rowcache lambda`, run by lambda_outputs.py against the
//      fake Runtime API of tests/e2e/fake_lambda.py) handles that event and
//      posts a result, a function error or an initialization error;
//   3. the integration response is selected the way API Gateway does it for a
//      Lambda integration: each SelectionPattern is a Java regular expression
//      matched against the WHOLE errorMessage of a function error (and against
//      "" for a result), the response without a pattern being the default;
//   4. that response's template is rendered with $input over the function's
//      output, and the HTTP status is the response's StatusCode unless the
//      template set $context.responseOverride.status.
// Checked: the status and the body for a 200 read (JSON and form-encoded
// requests), a write, a 400, a 503 (unreachable database), a function error
// (deadline passed) and an initialization error whose errorMessage holds a
// line break; and that every status is a declared method response.
//
// The Velocity engine is velocityjs with two changes towards the Apache
// Velocity 1.7 that API Gateway runs: a #set whose right side is null leaves
// the variable as it was, and a Java null is JS undefined (so "$!x" renders
// ""). $input and $util implement what the templates use, after AWS's
// documentation: $input.body, $input.json(path), $input.path(path) (JSONPath
// $, .name, ['name'], [n]; anything else is an error here, not a guess),
// $input.params(); $util.escapeJavaScript (Apache Commons Lang's
// escapeJavaScript), $util.parseJson.
//
// Java regular expressions are emulated in JS (Java's "." excludes \n, \r,
// \u0085, \u2028 and \u2029; \s is [ \t\n\x0B\f\r]; matches() is a full
// match); with `java` on PATH the same patterns and inputs are also run
// through java.util.regex itself and must agree.
//
// Usage: ROWCACHE_BIN=build/rowcache node render_mappings.mjs TEMPLATE
// Prints one line per check and ends with "N passed, N failed".

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { Compile, parse } from 'velocityjs';

const templatePath = process.argv[2];
const binary = process.env.ROWCACHE_BIN;
const here = process.env.ROWCACHE_DEPLOY_TESTS_DIR; // tests/deploy (this file runs from a copy)
if (!templatePath || !binary || !here) {
  console.error('usage: ROWCACHE_BIN=... ROWCACHE_DEPLOY_TESTS_DIR=tests/deploy node render_mappings.mjs TEMPLATE');
  process.exit(2);
}

let passed = 0;
let failed = 0;
function check(name, fn) {
  let detail;
  try {
    detail = fn();
  } catch (e) {
    failed++;
    console.log(`FAIL  ${name}\n      ${String(e.stack || e).split('\n').slice(0, 6).join('\n      ')}`);
    return false;
  }
  passed++;
  console.log(`ok    ${name}${detail ? ` (${detail})` : ''}`);
  return true;
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
const show = (v) => JSON.stringify(v);
const deepEq = (a, b) => show(sortKeys(a)) === show(sortKeys(b));
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

// ------------------------------------------------------- Java regex in JS
const JAVA_DOT = '[^\\n\\r\\u0085\\u2028\\u2029]';
const JAVA_SPACE = ' \\t\\n\\x0B\\f\\r';
const JAVA_NONSPACE = '\\x00-\\x08\\x0E-\\x1F\\x21-\\uFFFF';
// A Java pattern as an equivalent JS RegExp for String.matches (whole input).
// Only the constructs whose meaning differs are rewritten; a construct this
// translation does not know (inline flags, possessive quantifiers, \p{..},
// \A, \z, ...) is refused rather than guessed.
export function javaRegex(pattern) {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const n = pattern[i + 1];
      i++;
      if (n === undefined) throw new Error(`pattern ends in a backslash: ${pattern}`);
      if (n === 's') out += inClass ? JAVA_SPACE : `[${JAVA_SPACE}]`;
      else if (n === 'S') out += inClass ? JAVA_NONSPACE : `[^${JAVA_SPACE}]`;
      else if ('dDwWnrtf\\.[]{}()*+?|^$-/'.includes(n)) out += `\\${n}`;
      else throw new Error(`escape \\${n} not translated (pattern ${pattern})`);
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      if (c === '[') throw new Error(`nested character class not translated (pattern ${pattern})`);
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (pattern[i + 1] === '^') out += pattern[++i];
      if (pattern[i + 1] === ']') out += `\\${pattern[++i]}`; // a leading ] is literal in Java
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?' && pattern[i + 2] !== ':') throw new Error(`group (?${pattern[i + 2]} not translated (pattern ${pattern})`);
    if ((c === '+' || c === '*' || c === '?' || c === '}') && pattern[i + 1] === '+') throw new Error(`possessive quantifier not translated (pattern ${pattern})`);
    out += c === '.' ? JAVA_DOT : c;
  }
  if (inClass) throw new Error(`unclosed character class in ${pattern}`);
  return new RegExp(`^(?:${out})$`);
}
const javaMatches = (pattern, s) => javaRegex(pattern).test(s);

// The same questions to java.util.regex, when a JDK is installed: for each
// pair, Pattern.matches(pattern, input) (true or false), or "overflow" when
// the matcher ran out of stack.
function realJava(pairs) {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rowcache-javare-'));
  try {
    const src = path.join(dir, 'Matches.java');
    fs.writeFileSync(src, `import java.util.*; import java.util.regex.*;
public class Matches { public static void main(String[] a) { Scanner in = new Scanner(System.in);
  Base64.Decoder d = Base64.getDecoder();
  while (in.hasNextLine()) { String[] f = in.nextLine().split(" ", -1);
    String p = new String(d.decode(f[0]), java.nio.charset.StandardCharsets.UTF_8);
    String s = new String(d.decode(f[1]), java.nio.charset.StandardCharsets.UTF_8);
    String r; try { r = String.valueOf(Pattern.matches(p, s)); } catch (StackOverflowError e) { r = "overflow"; }
    System.out.println(r); } } }\n`);
    const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
    const r = spawnSync('java', [src], { input: pairs.map(([p, s]) => `${b64(p)} ${b64(s)}\n`).join(''), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`java: ${r.stderr}`);
    return r.stdout.trim().split('\n').map((l) => (l === 'overflow' ? l : l === 'true'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ VTL
// velocityjs, with Velocity 1.7's #set: a null (undefined) right side leaves
// the variable alone (directive.set.null.allowed = false).
class ApiGatewayVelocity extends Compile {
  setValue(ast) {
    const rhs = ast.equal[1];
    const value = rhs.type === 'math' ? this.getExpression(rhs) : this.getLiteral(rhs);
    if (value === null || value === undefined) return;
    const mapper = this.config.valueMapper;
    this.config.valueMapper = () => value;
    try {
      super.setValue(ast);
    } finally {
      this.config.valueMapper = mapper;
    }
  }
}

// JSONPath as API Gateway's $input takes it, the subset used here.
function jsonPath(doc, expr) {
  assert(typeof expr === 'string' && expr.startsWith('$'), `JSONPath ${show(expr)} does not start with $`);
  let v = doc;
  const re = /\.([A-Za-z_][A-Za-z0-9_]*)|\['([^']*)'\]|\[(\d+)\]/y;
  let i = 1;
  while (i < expr.length) {
    re.lastIndex = i;
    const m = re.exec(expr);
    if (!m) throw new Error(`JSONPath ${show(expr)}: not supported by this emulation`);
    i = re.lastIndex;
    const key = m[1] ?? m[2] ?? Number(m[3]);
    v = v !== null && typeof v === 'object' && key in v ? v[key] : undefined;
  }
  return v;
}

// Apache Commons Lang StringEscapeUtils.escapeJavaScript (what AWS documents
// for $util.escapeJavaScript: ' becomes \', " \" , \ \\, / \/, control
// characters \b \n \t \f \r or \u00XX, and every character past 0x7F \uXXXX,
// in upper-case hex, by UTF-16 code unit).
export function escapeJavaScript(s) {
  if (s === undefined || s === null) return undefined;
  s = String(s);
  const hex = (c) => c.toString(16).toUpperCase();
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch > 0xfff) out += `\\u${hex(ch)}`;
    else if (ch > 0xff) out += `\\u0${hex(ch)}`;
    else if (ch > 0x7f) out += `\\u00${hex(ch)}`;
    else if (ch < 32) {
      const named = { 8: '\\b', 10: '\\n', 9: '\\t', 12: '\\f', 13: '\\r' }[ch];
      out += named ?? (ch > 0xf ? `\\u00${hex(ch)}` : `\\u000${hex(ch)}`);
    } else {
      out += { "'": "\\'", '"': '\\"', '\\': '\\\\', '/': '\\/' }[s[i]] ?? s[i];
    }
  }
  return out;
}

// Renders a mapping template over `body` (the raw text API Gateway holds:
// the client's request body, or the function's output). Returns the text and
// the $context the template may have changed.
export function renderMapping(template, body) {
  let parsed;
  const doc = () => {
    if (parsed === undefined) {
      try {
        parsed = { v: JSON.parse(body) };
      } catch (e) {
        throw new Error(`$input over a body that is not JSON: ${body.slice(0, 80)}`);
      }
    }
    return parsed.v;
  };
  const input = {
    body,
    json(expr) {
      const v = jsonPath(doc(), expr);
      if (v === undefined) throw new Error(`$input.json(${show(expr)}): nothing there (not emulated)`);
      return JSON.stringify(v);
    },
    path(expr) {
      const v = jsonPath(doc(), expr);
      return v === null ? undefined : v; // Java null
    },
    params() {
      return { path: {}, querystring: {}, header: {} };
    },
  };
  const util = {
    escapeJavaScript,
    parseJson: (s) => JSON.parse(s),
  };
  const context = { requestId: 'test-request', responseOverride: { header: {} } };
  const text = new ApiGatewayVelocity(parse(template)).render({ input, util, context });
  return { text, context };
}

// ------------------------------------------------------------ the method
const t = YAML.parse(fs.readFileSync(templatePath, 'utf8'));
const methods = Object.values(t.Resources).filter((r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties.HttpMethod === 'POST');
assert(methods.length === 1, `${methods.length} POST methods`);
const m = methods[0].Properties;
const integration = m.Integration;
const responses = integration.IntegrationResponses;
const declared = m.MethodResponses.map((r) => String(r.StatusCode));
const dflt = responses.filter((r) => r.SelectionPattern === undefined || r.SelectionPattern === '');

// What API Gateway does with one function output: the integration response,
// the HTTP status and the body sent to the client.
function respond(output) {
  const isError = output.kind !== 'response';
  let errorMessage = '';
  if (isError) {
    const e = JSON.parse(output.body);
    assert(typeof e.errorMessage === 'string', `a function error without errorMessage: ${output.body}`);
    errorMessage = e.errorMessage;
  }
  const selected = responses.find((r) => r.SelectionPattern && javaMatches(r.SelectionPattern, errorMessage)) ?? dflt[0];
  const tpl = selected.ResponseTemplates?.['application/json'];
  assert(tpl !== undefined, `integration response ${selected.StatusCode} has no application/json template`);
  const { text, context } = renderMapping(tpl, output.body);
  const status = context.responseOverride.status !== undefined ? String(context.responseOverride.status) : String(selected.StatusCode);
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`the rendered body is not JSON: ${show(text)}`);
  }
  return { selected: String(selected.StatusCode), status, text, json };
}

// ------------------------------------------------------- the real outputs
const ROW = { hero: 'yes', power: 'fly', name: 'batman', xp: '100', color: 'black' };
const requestEvent = (contentType, body) => {
  const tpl = integration.RequestTemplates?.[contentType];
  assert(tpl !== undefined, `no request template for ${contentType}`);
  return renderMapping(tpl, body).text;
};
const clientWrite = JSON.stringify({ USE_CACHE: 'True', REQUEST: 'write', SQLS: [ROW, { ...ROW, name: 'robin', xp: '7' }] });
const clientBad = JSON.stringify({ REQUEST: 'read', SQLS: ['one'] });
const readBody = (ids) => JSON.stringify({ USE_CACHE: 'True', REQUEST: 'read', SQLS: ids });
const lambda = (scenarios) => {
  const r = spawnSync('python3', [path.join(here, 'lambda_outputs.py')], {
    input: JSON.stringify({ binary, scenarios }), encoding: 'utf8', timeout: 120000,
  });
  if (r.status !== 0) throw new Error(`lambda_outputs.py exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};
const sqlite = { ROWCACHE_DB: 'sqlite:{tmp}/rowcache.db', ROWCACHE_CACHE: 'memory://', ROWCACHE_TABLE: 'heroes' };

let out;
const ok = check(`the real binary answers through the request templates (${path.basename(binary)}, fake Runtime API)`, () => {
  // One process, a fresh database: write two rows (ids 1 and 2), then read
  // them back, as JSON and as a form post.
  out = lambda([
    {
      name: 'sqlite',
      env: sqlite,
      events: [
        { event: requestEvent('application/json', clientWrite) },
        { event: requestEvent('application/json', readBody([1, 999999, 2])) },
        { event: requestEvent('application/x-www-form-urlencoded', readBody([1, 999999, 2])) },
        { event: requestEvent('application/json', clientBad) },
        { event: requestEvent('application/json', readBody([1])), deadline_passed: true },
      ],
    },
    {
      name: 'db-down',
      env: { ROWCACHE_DB: 'mysql://rowcache_app@127.0.0.1:1/rowcache', ROWCACHE_CREATE_TABLE: '0', ROWCACHE_DB_TIMEOUT: '1', ROWCACHE_CACHE: 'memory://' },
      events: [{ event: requestEvent('application/json', readBody([1])) }],
    },
    {
      name: 'init-error',
      // A table name with a line break: the runtime's init error quotes it.
      env: { ...sqlite, ROWCACHE_TABLE: 'heroes\nDROP' },
      events: [{ event: requestEvent('application/json', readBody([1])) }],
    },
  ]);
  return `${Object.values(out).flat().length} outputs`;
});

if (ok) {
  const [write, read, readForm, bad, late] = out.sqlite;
  const [down] = out['db-down'];
  const [init] = out['init-error'];
  const expectPassThrough = (o, status) => {
    assert(o.kind === 'response', `the function did not return a result: ${show(o)}`);
    const fn = JSON.parse(o.body);
    const r = respond(o);
    assert(r.selected === '200', `integration response ${r.selected} selected for a result`);
    assert(r.status === String(status), `HTTP ${r.status}, expected ${status} (function statusCode ${fn.statusCode})`);
    assert(deepEq(r.json, fn), `body ${r.text} differs from the function's ${o.body}`);
    assert(declared.includes(r.status), `HTTP ${r.status} is not a declared method response (${declared})`);
    return r;
  };

  check('200 write: the default response, status 200 (no override), the body is the function\'s {"statusCode": 200, "body": "write success", "ids": [...]}', () => {
    const r = expectPassThrough(write, 200);
    assert(r.json.body === 'write success' && r.json.ids.length === 2, r.text);
    return r.text;
  });
  check('200 read (application/json, $input.json(\'$\')): status 200, the rows and null as the function returned them', () => {
    const r = expectPassThrough(read, 200);
    assert(r.json.body.length === 3 && r.json.body[1] === null && r.json.body[0].name === 'batman', r.text);
    return r.text.length > 120 ? `${r.text.slice(0, 120)}...` : r.text;
  });
  check('200 read (application/x-www-form-urlencoded, as curl -d sends: $input.body): the same event, the same answer', () => {
    const r = expectPassThrough(readForm, 200);
    assert(deepEq(r.json, JSON.parse(read.body)), `${r.text} != ${read.body}`);
  });
  check('400 bad input: a result (not an error); the 200 response\'s template overrides the status to 400; body passed through', () => {
    const r = expectPassThrough(bad, 400);
    assert(/SQLS\[0\]/.test(r.json.body.error), r.text);
    return r.text;
  });
  check('503 database unreachable (ROWCACHE_CREATE_TABLE=0, mysql://...:1): status 503, the function\'s body', () => {
    const r = expectPassThrough(down, 503);
    return r.text;
  });
  check('function error (deadline already passed: Runtime.DeadlineExceeded): the [\\s\\S]+ response, 502, {"statusCode": 502, "body": {"error": errorMessage}}', () => {
    assert(late.kind === 'error' && late.error_type === 'Runtime.DeadlineExceeded', show(late));
    const r = respond(late);
    assert(r.selected === '502' && r.status === '502', `HTTP ${r.status} from response ${r.selected}`);
    assert(deepEq(r.json, { statusCode: 502, body: { error: JSON.parse(late.body).errorMessage } }), r.text);
    return r.text;
  });
  check('init error whose errorMessage holds a line break: 502 with the message intact (JSON-escaped by $input.json)', () => {
    assert(init.kind === 'init_error' && init.error_type === 'Runtime.ConfigInvalid', show(init));
    const msg = JSON.parse(init.body).errorMessage;
    assert(msg.includes('\n'), `no line break in ${show(msg)}`);
    const r = respond(init);
    assert(r.selected === '502' && r.status === '502', `HTTP ${r.status} from response ${r.selected}`);
    assert(deepEq(r.json, { statusCode: 502, body: { error: msg } }), r.text);
    assert(!javaMatches('.+', msg), '".+" matches it too: the test would not catch the old pattern');
    return `${show(msg)}; ".+" would not have matched it (200 with the error document)`;
  });

  const pattern = responses.find((r) => r.SelectionPattern)?.SelectionPattern;
  const samples = ['', 'x', 'two\nlines', 'crlf\r\nline', 'nel\u0085x', 'ls\u2028x', 'ps\u2029x', '\n', 'tab\tand unicode é',
    JSON.parse(init.body).errorMessage, 'x'.repeat(20000), 'y\n'.repeat(5000)];
  const expected = samples.map((s) => s.length > 0);
  check(`SelectionPattern ${show(pattern)}: matches every non-empty errorMessage (any line terminator, 20,000 characters) and not "" (a result)`, () => {
    const got = samples.map((s) => javaMatches(pattern, s));
    assert(show(got) === show(expected), `emulated ${show(got)}, want ${show(expected)}`);
  });
  check('Java regex emulation agrees with java.util.regex itself (when a JDK is installed)', () => {
    const more = ['.+', '(\\n|.)+', '[\\s\\S]+', 'a.c', '\\s+', '[\\S]+', '[^x]+'];
    const pairs = [];
    for (const p of [pattern, ...more]) for (const s of [...samples.slice(0, 10), 'a\nc', 'abc', ' \t', '\u00a0']) pairs.push([p, s]);
    let java;
    try {
      java = realJava(pairs);
    } catch (e) {
      // java.util.regex itself may fail: "(\n|.)+" recurses once per character.
      throw new Error(`java failed: ${e.message.slice(0, 300)}`);
    }
    if (java === null) return 'no java on PATH: not compared';
    const diff = pairs.filter(([p, s], i) => javaMatches(p, s) !== java[i]).map(([p, s]) => `${show(p)} on ${show(s)}`);
    assert(diff.length === 0, `the emulation differs from Java on: ${diff.join('; ')}`);
    const shortOnes = samples.slice(0, 10).filter((s) => s.length);
    const oldMisses = shortOnes.filter((s) => !java[pairs.findIndex(([p, x]) => p === '.+' && x === s)]).length;
    return `${pairs.length} pattern/input pairs agree; Java's ".+" misses ${oldMisses} of these ${shortOnes.length} non-empty messages`;
  });
  check('Java: the 502 pattern on a 20,000-character message with line breaks matches (java.util.regex)', () => {
    const long = 'y\n'.repeat(10000);
    const java = realJava([[pattern, long], ['(\\n|.)+', long]]);
    if (java === null) return 'no java on PATH: not run';
    assert(java[0] === true, `${show(pattern)}: ${java[0]}`);
    return `"(\\n|.)+" on the same message: ${java[1] === 'overflow' ? 'StackOverflowError' : java[1]}`;
  });
}

check('$util.escapeJavaScript as Commons Lang\'s escapeJavaScript (quotes, backslash, slash, control and non-ASCII characters)', () => {
  const cases = [
    ['plain', 'plain'],
    [`it's "x"`, `it\\'s \\"x\\"`],
    ['a\\b/c', 'a\\\\b\\/c'],
    ['\b\t\n\f\r\u0001\u001f', '\\b\\t\\n\\f\\r\\u0001\\u001F'],
    ['é€😀', '\\u00E9\\u20AC\\uD83D\\uDE00'],
    ['\u0100', '\\u0100'],
  ];
  for (const [i, o] of cases) assert(escapeJavaScript(i) === o, `${show(i)} -> ${show(escapeJavaScript(i))}, want ${show(o)}`);
  const { text } = renderMapping("$util.escapeJavaScript($input.path('$.m'))", JSON.stringify({ m: "a'b\nc" }));
  assert(text === "a\\'b\\nc", `in a template: ${show(text)}`);
});

check('VTL engine: Velocity 1.7 null handling ($!x of a null path renders "", #set of null keeps the old value)', () => {
  const { text } = renderMapping("#set($a = 'kept')#set($a = $input.path('$.none'))[$!a][$!b]", '{"x": 1}');
  assert(text === '[kept][]', show(text));
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
