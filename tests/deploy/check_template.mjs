// Offline checks of deploy/template.yaml:
//   1. it is plain YAML (long-form intrinsics, no custom tags);
//   2. @aws/cloudformation-validate (AWS's offline CloudFormation validator,
//      the cfn-lint rules and resource schemas compiled to WebAssembly) finds
//      no FATAL, ERROR or WARN diagnostic for us-east-1;
//   3. the same validator does reject a deliberately broken copy (so a
//      validator that checks nothing cannot pass step 2);
//   4. structural facts of the design (integration type, runtime, IAM scope,
//      security group rules, the API's authentication per ApiAuth, the
//      function's least-privileged database user and secret, VpcCidr against
//      the subnets' Fn::Cidr, the pinned engine version, ...);
//   5. every cache shape: the template's conditions resolved for each
//      combination of CacheMode (single-shard, cluster, serverless),
//      CacheTransitEncryption and CacheAuth, each resulting concrete template
//      validated like the template itself and checked for the facts of its
//      shape (which endpoint the function gets, rediss:// with TLS, the AUTH
//      token or RBAC user from the generated secret, the function's access to
//      that secret).
// Usage: node check_template.mjs TEMPLATE
// With ROWCACHE_RENDERED_DIR set, the concrete template of each shape is left
// there (shape-*.yaml) for other linters (test_template.sh runs cfn-lint on them).
// Prints one line per check and ends with "N passed, N failed"; exits 1 on any failure.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { RegoEngine, SchemaValidator, TemplateFile, version as validatorVersion } from '@aws/cloudformation-validate';

const templatePath = process.argv[2];
if (!templatePath) {
  console.error('usage: node check_template.mjs TEMPLATE');
  process.exit(2);
}
const REGION = 'us-east-1';

let passed = 0;
let failed = 0;
function check(name, fn) {
  let detail;
  try {
    detail = fn();
  } catch (e) {
    failed++;
    console.log(`FAIL  ${name}\n      ${e.message.split('\n').join('\n      ')}`);
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
function eq(actual, expected, what) {
  assert(show(actual) === show(expected), `${what}: expected ${show(expected)}, got ${show(actual)}`);
}
const sameSet = (a, b) => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

// ------------------------------------------------------------------ parse
const text = fs.readFileSync(templatePath, 'utf8');
let t;
const parsedOk = check('template is plain YAML (long-form intrinsics, no !Ref-style tags)', () => {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  assert(doc.errors.length === 0, doc.errors.map(String).join('\n'));
  assert(doc.warnings.length === 0, doc.warnings.map(String).join('\n'));
  let tagged = [];
  YAML.visit(doc, { Node(_, node) { if (node.tag && !node.tag.startsWith('tag:yaml.org,2002:')) tagged.push(node.tag); } });
  assert(tagged.length === 0, `custom tags present: ${[...new Set(tagged)].join(', ')}`);
  t = doc.toJS();
  eq(t.AWSTemplateFormatVersion, '2010-09-09', 'AWSTemplateFormatVersion');
  assert(!t.Transform, 'Transform present: this is meant to be plain CloudFormation');
  return `${Object.keys(t.Resources).length} resources, ${Object.keys(t.Parameters || {}).length} parameters`;
});
if (!parsedOk) {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(1);
}

// ------------------------------------------------------ structural helpers
const R = t.Resources;
const P = t.Parameters || {};
const ofType = (type) => Object.entries(R).filter(([, r]) => r.Type === type);
function one(type) {
  const list = ofType(type);
  assert(list.length === 1, `expected exactly one ${type}, found ${list.length}`);
  return list[0];
}
const isRef = (v, id) => v && typeof v === 'object' && v.Ref === id;
const isGetAtt = (v, id, attr) => {
  if (!v || typeof v !== 'object' || !('Fn::GetAtt' in v)) return false;
  const g = v['Fn::GetAtt'];
  const [gid, gattr] = Array.isArray(g) ? g : String(g).split(/\.(.*)/);
  return gid === id && gattr === attr;
};
const subText = (v) => (v && typeof v === 'object' && 'Fn::Sub' in v ? (Array.isArray(v['Fn::Sub']) ? v['Fn::Sub'][0] : v['Fn::Sub']) : undefined);
const arr = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const paramDefault = (v) => (v && typeof v === 'object' && 'Ref' in v ? P[v.Ref]?.Default : v);

// -------------------------------------------------------------- validator
const blocking = new Set(['FATAL', 'ERROR', 'WARN']);
function validate(file) {
  const engine = new RegoEngine();
  try {
    const report = engine.validateStandard(new TemplateFile(file), {
      severityLevel: 'INFO',
      pseudoParameterOverrides: { region: REGION },
    });
    return report;
  } finally {
    engine.free();
  }
}
function schemaCount() {
  const v = new SchemaValidator();
  try { return v.schemaCount(); } finally { v.free(); }
}
const fmt = (d) => `${d.severity} ${d.ruleId} ${d.entity?.logicalId ?? '-'} line ${d.startLine ?? '?'}: ${d.message}`;

// ------------------------------------------------------------- cache shapes
// The template's conditions resolved for one combination of parameter values:
// resources and outputs whose condition is false dropped, each Fn::If replaced
// by its branch, AWS::NoValue removed, Fn::Sub variable maps inlined, the
// parameters set to the combination's values (and dropped where nothing refers
// to them any more). The result is the concrete template CloudFormation would
// deploy for those values, validated and checked like the template itself.
const MODES = ['single-shard', 'cluster', 'serverless'];
const NOVALUE = Symbol('AWS::NoValue');
function renderTemplate(values) {
  const condCache = {};
  const scalar = (x) => {
    if (x && typeof x === 'object' && 'Ref' in x) {
      assert(x.Ref in values, `a condition refers to ${x.Ref}, which is not a parameter`);
      return String(values[x.Ref]);
    }
    assert(x === null || typeof x !== 'object', `unsupported value in a condition: ${show(x)}`);
    return String(x);
  };
  const evalExpr = (e) => {
    const [k] = Object.keys(e);
    const a = e[k];
    if (k === 'Fn::Equals') return scalar(a[0]) === scalar(a[1]);
    if (k === 'Fn::And') return a.every(evalExpr);
    if (k === 'Fn::Or') return a.some(evalExpr);
    if (k === 'Fn::Not') return !evalExpr(a[0]);
    if (k === 'Condition') return cond(a);
    throw new Error(`unsupported condition function ${k}`);
  };
  const cond = (name) => {
    if (!(name in condCache)) {
      assert(t.Conditions?.[name], `no condition ${name}`);
      condCache[name] = evalExpr(t.Conditions[name]);
    }
    return condCache[name];
  };
  const resolve = (v) => {
    if (Array.isArray(v)) return v.map(resolve).filter((x) => x !== NOVALUE);
    if (!v || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 'Fn::If') {
      const [c, whenTrue, whenFalse] = v['Fn::If'];
      return resolve(cond(c) ? whenTrue : whenFalse);
    }
    if (keys.length === 1 && keys[0] === 'Ref' && v.Ref === 'AWS::NoValue') return NOVALUE;
    if (keys.length === 1 && keys[0] === 'Fn::Sub' && Array.isArray(v['Fn::Sub'])) {
      let [str, vars] = v['Fn::Sub'];
      const rest = {};
      for (const [name, val] of Object.entries(resolve(vars))) {
        const inline = typeof val === 'string' ? val : typeof val?.['Fn::Sub'] === 'string' ? val['Fn::Sub'] : undefined;
        if (inline === undefined) rest[name] = val;
        else str = str.split(`\${${name}}`).join(inline);
      }
      return { 'Fn::Sub': Object.keys(rest).length ? [str, rest] : str };
    }
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      const r = resolve(x);
      if (r !== NOVALUE) out[k] = r;
    }
    return out;
  };
  const section = (entries) => {
    const out = {};
    for (const [id, { Condition, ...rest }] of Object.entries(entries || {})) {
      if (Condition === undefined || cond(Condition)) out[id] = resolve(rest);
    }
    return out;
  };
  const out = { ...structuredClone(t), Resources: section(t.Resources), Outputs: section(t.Outputs) };
  delete out.Conditions;
  const used = new Set();
  const collect = (v) => {
    if (Array.isArray(v)) return v.forEach(collect);
    if (!v || typeof v !== 'object') return;
    if (typeof v.Ref === 'string') used.add(v.Ref);
    const sub = v['Fn::Sub'];
    const subStr = Array.isArray(sub) ? sub[0] : sub;
    if (typeof subStr === 'string') for (const m of subStr.matchAll(/\$\{([A-Za-z0-9]+)\}/g)) used.add(m[1]);
    Object.values(v).forEach(collect);
  };
  collect([out.Resources, out.Outputs]);
  out.Parameters = {};
  for (const [k, p] of Object.entries(P)) {
    if (!used.has(k)) continue;
    out.Parameters[k] = { ...p };
    if (p.Default !== undefined || k in values) out.Parameters[k].Default = p.Type === 'Number' ? Number(values[k]) : values[k];
  }
  return out;
}

// Every combination of the cache parameters, and cluster mode without replicas.
const shapes = [];
for (const mode of MODES) {
  for (const tls of ['true', 'false']) {
    for (const auth of ['true', 'false']) shapes.push({ CacheMode: mode, CacheTransitEncryption: tls, CacheAuth: auth });
  }
}
shapes.push({ CacheMode: 'cluster', CacheTransitEncryption: 'true', CacheAuth: 'true', CacheReplicasPerNodeGroup: '0' });
// The API's authentication: the shapes above have the default (AWS_IAM); the
// default cache shape with each other ApiAuth.
for (const apiAuth of ['API_KEY', 'NONE']) shapes.push({ CacheMode: 'single-shard', CacheTransitEncryption: 'true', CacheAuth: 'true', ApiAuth: apiAuth });
const defaults = Object.fromEntries(Object.entries(P).map(([k, p]) => [k, p.Default !== undefined ? String(p.Default) : `${k.toLowerCase()}-value`]));
for (const sh of shapes) {
  const params = { ...sh };
  sh.values = { ...defaults, ...params };
  sh.label = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' ');
  // What the shape must come out as: Serverless forces TLS; AUTH needs TLS.
  sh.tls = sh.CacheMode === 'serverless' || sh.CacheTransitEncryption === 'true';
  sh.auth = sh.tls && sh.CacheAuth === 'true';
  sh.replicas = Number(sh.values.CacheReplicasPerNodeGroup);
}
const defaultShape = { label: 'the parameter defaults', values: defaults };
const renderedDir = process.env.ROWCACHE_RENDERED_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'rowcache-shapes-'));
const distinct = new Map(); // rendered JSON -> { file, labels }
check(`cache shapes: the conditions resolve for all ${shapes.length} combinations of CacheMode, CacheTransitEncryption and CacheAuth (+ cluster without replicas; + ApiAuth API_KEY and NONE)`, () => {
  assert(t.Conditions && P.CacheMode, 'no Conditions or no CacheMode parameter');
  defaultShape.rendered = renderTemplate(defaultShape.values);
  fs.mkdirSync(renderedDir, { recursive: true });
  for (const sh of shapes) {
    sh.rendered = renderTemplate(sh.values);
    const key = JSON.stringify(sh.rendered);
    if (!distinct.has(key)) {
      const file = path.join(renderedDir, `shape-${distinct.size + 1}-${sh.CacheMode}-tls-${sh.tls}-auth-${sh.auth}${sh.replicas === 0 ? '-no-replicas' : ''}${sh.ApiAuth ? `-api-${sh.ApiAuth.toLowerCase()}` : ''}.yaml`);
      fs.writeFileSync(file, `# ${sh.label}\n${YAML.stringify(sh.rendered)}`);
      distinct.set(key, { file, labels: [] });
    }
    sh.file = distinct.get(key).file;
    distinct.get(key).labels.push(sh.label);
  }
  return `${distinct.size} distinct concrete templates`;
});

let renderedClean = distinct.size > 0;
for (const { file, labels } of distinct.values()) {
  const ok = check(`validator, shape ${path.basename(file, '.yaml').replace(/^shape-\d+-/, '')}: no FATAL/ERROR/WARN (${labels.length} combination${labels.length > 1 ? 's' : ''})`, () => {
    const report = validate(file);
    const bad = report.diagnostics.filter((d) => blocking.has(d.severity));
    assert(bad.length === 0, `${labels.join('; ')}\n${bad.map(fmt).join('\n')}`);
    eq(report.status, 'OK', 'report status');
    return `${Object.keys(YAML.parse(fs.readFileSync(file, 'utf8')).Resources).length} resources`;
  });
  renderedClean &&= ok;
}

// The validator reports W1001 ("target may not exist") for every reference
// under an Fn::If in Outputs: unlike cfn-lint it does not follow Fn::If there
// (it does in Resources). Those notices are waived on Outputs only, and only
// when the concrete template of every cache shape above validated clean, where
// no condition is left and a dangling reference would be an error.
const waivable = (d) => d.severity === 'WARN' && d.ruleId === 'W1001' && d.entity?.logicalId in (t.Outputs || {}) &&
  JSON.stringify(t.Outputs[d.entity.logicalId].Value).includes('"Fn::If"');
check(`@aws/cloudformation-validate ${validatorVersion()}: no FATAL/ERROR/WARN diagnostics (region ${REGION})`, () => {
  const report = validate(templatePath);
  const waived = report.diagnostics.filter((d) => renderedClean && waivable(d));
  const bad = report.diagnostics.filter((d) => blocking.has(d.severity) && !waived.includes(d));
  assert(bad.length === 0, bad.map(fmt).join('\n'));
  eq(report.status, 'OK', 'report status');
  const info = report.diagnostics.filter((d) => d.severity === 'INFO').length;
  const notes = waived.length
    ? `; ${waived.length} W1001 on the Fn::If of outputs ${[...new Set(waived.map((d) => d.entity.logicalId))].join(', ')} waived: every shape validated`
    : '';
  return `${schemaCount()} resource schemas; ${info} INFO notices${notes}`;
});

check('validator rejects a broken copy of the template (sanity check of the validator)', () => {
  const broken = structuredClone(t);
  const fn = Object.values(broken.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
  fn.Properties.Runtime = 'provided.al2099';
  fn.Properties.MemorySize = 'lots';
  fn.Properties.NoSuchProperty = true;
  broken.Resources.DanglingRef = { Type: 'AWS::SNS::Topic', Properties: { TopicName: { Ref: 'NoSuchThing' } } };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rowcache-cfn-'));
  const file = path.join(dir, 'broken.yaml');
  try {
    fs.writeFileSync(file, YAML.stringify(broken));
    const report = validate(file);
    const bad = report.diagnostics.filter((d) => blocking.has(d.severity) && !waivable(d));
    const ids = [...new Set(bad.map((d) => d.ruleId))].sort();
    assert(bad.length >= 4, `only ${bad.length} blocking diagnostics for 4 planted faults: ${ids.join(', ')}`);
    return `${bad.length} diagnostics: ${ids.join(', ')}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------ API Gateway
const [apiId] = one('AWS::ApiGateway::RestApi');
const posts = ofType('AWS::ApiGateway::Method').filter(([, r]) => r.Properties.HttpMethod === 'POST');
const [fnId, fn] = one('AWS::Lambda::Function');
let post;

check('API: one POST method on the REST API root with the NON-PROXY Lambda integration (Type AWS)', () => {
  assert(posts.length === 1, `expected one POST method, found ${posts.length}`);
  post = posts[0][1].Properties;
  assert(isRef(post.RestApiId, apiId), 'RestApiId is not the RestApi');
  assert(isGetAtt(post.ResourceId, apiId, 'RootResourceId') || typeof post.ResourceId === 'object', 'ResourceId');
  const i = post.Integration;
  eq(i.Type, 'AWS', 'Integration.Type');
  eq(i.IntegrationHttpMethod, 'POST', 'Integration.IntegrationHttpMethod');
  const uri = subText(i.Uri);
  assert(uri && /:apigateway:\$\{AWS::Region\}:lambda:path\/2015-03-31\/functions\/\$\{(\w+)\.Arn\}\/invocations$/.test(uri),
    `Integration.Uri is not the Lambda invocation path: ${show(i.Uri)}`);
  eq(uri.match(/functions\/\$\{(\w+)\.Arn\}/)[1], fnId, 'function in Integration.Uri');
  return `Type ${i.Type}, Uri -> ${fnId}`;
});

check('API: request template passes the JSON body through; PassthroughBehavior WHEN_NO_TEMPLATES', () => {
  const i = post.Integration;
  eq(i.RequestTemplates?.['application/json'], "$input.json('$')", "RequestTemplates['application/json']");
  eq(i.PassthroughBehavior, 'WHEN_NO_TEMPLATES', 'PassthroughBehavior');
  return `templates for ${Object.keys(i.RequestTemplates).join(', ')}`;
});

check('API: default 200 integration response sets the HTTP status from the returned statusCode', () => {
  const responses = post.Integration.IntegrationResponses;
  const dflt = responses.filter((r) => !r.SelectionPattern);
  assert(dflt.length === 1, `expected one default integration response, found ${dflt.length}`);
  eq(dflt[0].StatusCode, '200', 'default integration response StatusCode');
  const vtl = dflt[0].ResponseTemplates?.['application/json'] || '';
  assert(/#set\(\s*\$context\.responseOverride\.status\s*=/.test(vtl), 'no #set($context.responseOverride.status = ...)');
  assert(vtl.includes("$input.path('$.statusCode')"), "status not taken from $input.path('$.statusCode')");
  assert(vtl.trim().endsWith("$input.json('$')"), "the template does not end by passing $input.json('$') through");
  const errors = responses.filter((r) => r.SelectionPattern);
  assert(errors.length >= 1 && errors.every((r) => /^5\d\d$/.test(r.StatusCode)), 'no 5xx mapping for function errors');
  return `function errors (${errors.map((r) => `${show(r.SelectionPattern)} -> ${r.StatusCode}`).join(', ')})`;
});

check('API: method responses declared for 200, 400, 413 and 503', () => {
  const codes = post.MethodResponses.map((m) => String(m.StatusCode));
  for (const c of ['200', '400', '413', '503']) assert(codes.includes(c), `no MethodResponse ${c}`);
  return codes.join(' ');
});

check("API: deployment, stage 'prod' and an invoke permission for apigateway.amazonaws.com", () => {
  const [depId] = one('AWS::ApiGateway::Deployment');
  const [, stage] = one('AWS::ApiGateway::Stage');
  eq(stage.Properties.StageName, 'prod', 'StageName');
  assert(isRef(stage.Properties.DeploymentId, depId), 'stage does not use the deployment');
  const perms = ofType('AWS::Lambda::Permission').map(([, r]) => r.Properties)
    .filter((p) => p.Principal === 'apigateway.amazonaws.com');
  assert(perms.length === 1, 'no lambda:InvokeFunction permission for apigateway.amazonaws.com');
  eq(perms[0].Action, 'lambda:InvokeFunction', 'permission Action');
  assert(isGetAtt(perms[0].FunctionName, fnId, 'Arn') || isRef(perms[0].FunctionName, fnId), 'permission FunctionName');
  assert((subText(perms[0].SourceArn) || '').includes(`\${${apiId}}/`), 'permission SourceArn is not scoped to the REST API');
});

// --------------------------------------------------------------- function
const fp = fn.Properties;
check('Lambda: provided.al2023, handler bootstrap, x86_64, 512 MB, 10 s, code from CodeBucket/CodeKey', () => {
  eq(fp.Runtime, 'provided.al2023', 'Runtime');
  eq(fp.Handler, 'bootstrap', 'Handler');
  eq(fp.Architectures, ['x86_64'], 'Architectures');
  eq(fp.MemorySize, 512, 'MemorySize');
  eq(fp.Timeout, 10, 'Timeout');
  assert(isRef(fp.Code?.S3Bucket, 'CodeBucket') && isRef(fp.Code?.S3Key, 'CodeKey'), `Code: ${show(fp.Code)}`);
  assert(P.CodeBucket && P.CodeKey, 'CodeBucket/CodeKey parameters missing');
});

const subnets = ofType('AWS::EC2::Subnet');
const [lambdaSgId] = Object.entries(R).find(([id, r]) => r.Type === 'AWS::EC2::SecurityGroup' &&
  arr(fp.VpcConfig?.SecurityGroupIds).some((s) => isRef(s, id))) || [];
check('Lambda: in the VPC, in both private subnets, with its own security group', () => {
  const ids = arr(fp.VpcConfig?.SubnetIds).map((s) => s.Ref);
  assert(sameSet(ids, subnets.map(([id]) => id)) && ids.length === 2, `SubnetIds ${show(ids)}`);
  assert(lambdaSgId, 'VpcConfig.SecurityGroupIds does not name a security group of this template');
  return `subnets ${ids.join(', ')}; security group ${lambdaSgId}`;
});

// The function's database secret (the application user's) and the master's
// (the cluster's MasterUserPassword): two different secrets.
const secretId = fp.Environment?.Variables?.ROWCACHE_DB_SECRET_ARN?.Ref;
const secret = R[secretId];
const masterSecretId = (() => {
  const [, cluster] = ofType('AWS::RDS::DBCluster')[0] || [];
  const m = (subText(cluster?.Properties?.MasterUserPassword) || '').match(/^\{\{resolve:secretsmanager:\$\{(\w+)\}:SecretString:password\}\}$/);
  return m ? m[1] : undefined;
})();
const dbSecretIds = [secretId, masterSecretId];
check('Lambda: environment ROWCACHE_DB (no password; ssl-mode=VERIFY_IDENTITY, ssl-ca the packaged RDS CA bundle), ROWCACHE_DB_SECRET_ARN, ROWCACHE_TTL, SSL_CERT_FILE (ROWCACHE_CACHE: per cache shape below)', () => {
  const env = fp.Environment.Variables;
  assert(secret?.Type === 'AWS::SecretsManager::Secret', `ROWCACHE_DB_SECRET_ARN is not a Ref to a secret: ${show(env.ROWCACHE_DB_SECRET_ARN)}`);
  const db = subText(env.ROWCACHE_DB);
  assert(db && /^mysql:\/\/(\$\{\w+\}|\w+)@\$\{[\w.]+\}:(3306|\$\{[\w.]+\})\/(\$\{\w+\}|\w+)\?ssl-mode=VERIFY_IDENTITY&ssl-ca=\/var\/task\/rds-global-bundle\.pem$/.test(db),
    `ROWCACHE_DB (verified TLS against the RDS CA bundle deploy.sh puts in the package): ${show(env.ROWCACHE_DB)}`);
  assert(!/^mysql:\/\/[^@]*:[^@]*@/.test(db), 'ROWCACHE_DB carries a password');
  eq(env.SSL_CERT_FILE, '/etc/pki/tls/certs/ca-bundle.crt', 'SSL_CERT_FILE (the CA bundle of Amazon Linux 2023, for the static OpenSSL)');
  assert(isRef(env.ROWCACHE_TTL, 'CacheTtl') && P.CacheTtl.Default === 300, 'ROWCACHE_TTL is not the CacheTtl parameter (default 300)');
  const generated = secret.Properties.GenerateSecretString;
  eq(generated?.GenerateStringKey, 'password', 'secret JSON key of the generated password');
  return Object.keys(env).join(', ');
});

// ---------------------------------------------------------- IAM policies
function statements(role) {
  const out = [];
  for (const p of arr(role.Properties.Policies)) for (const s of arr(p.PolicyDocument.Statement)) out.push(s);
  return out;
}
const bucketArn = (v, bucketId) => isGetAtt(v, bucketId, 'Arn') || subText(v) === `\${${bucketId}.Arn}`;
const objectsArn = (v, bucketId) => subText(v) === `\${${bucketId}.Arn}/*`;
const [bucketId, bucket] = one('AWS::S3::Bucket');

// Exactly s3:ListBucket on the data bucket and `objectActions` on its objects.
function checkS3ReadOnly(stmts, who, objectActions = ['s3:GetObject']) {
  const s3 = stmts.filter((s) => arr(s.Action).some((a) => a.startsWith('s3:')));
  for (const s of s3) {
    eq(s.Effect, 'Allow', `${who} S3 statement Effect`);
    for (const a of arr(s.Action)) {
      assert(a === 's3:ListBucket' || objectActions.includes(a), `${who} allows ${a}`);
      for (const r of arr(s.Resource)) {
        if (a === 's3:ListBucket') assert(bucketArn(r, bucketId), `${who}: s3:ListBucket on ${show(r)}`);
        else assert(objectsArn(r, bucketId), `${who}: ${a} on ${show(r)}`);
      }
    }
  }
  const actions = [...new Set(s3.flatMap((s) => arr(s.Action)))];
  assert(sameSet(actions, ['s3:ListBucket', ...objectActions]), `${who} S3 actions: ${show(actions)}`);
}

const pgs = one('AWS::RDS::DBClusterParameterGroup');
const s3RoleId = pgs[1].Properties.Parameters?.aws_default_s3_role?.['Fn::GetAtt']?.[0];
check("Aurora S3 role: trusted by rds.amazonaws.com, allows exactly AWS's minimum for LOAD DATA FROM S3 (s3:ListBucket on the data bucket, s3:GetObject and s3:GetObjectVersion on its objects)", () => {
  assert(s3RoleId && R[s3RoleId]?.Type === 'AWS::IAM::Role', 'aws_default_s3_role is not a GetAtt of a role in this template');
  const role = R[s3RoleId];
  const trust = arr(role.Properties.AssumeRolePolicyDocument.Statement);
  assert(trust.length === 1 && trust[0].Principal?.Service === 'rds.amazonaws.com', `trust policy ${show(trust)}`);
  assert(!role.Properties.ManagedPolicyArns, 'the role has managed policies');
  const stmts = statements(role);
  assert(stmts.every((s) => s.Effect === 'Allow' && arr(s.Action).every((a) => a.startsWith('s3:'))), 'non-S3 statements present');
  checkS3ReadOnly(stmts, s3RoleId, ['s3:GetObject', 's3:GetObjectVersion']);
  return s3RoleId;
});

check('Aurora: cluster parameter group (aurora-mysql8.0) sets aws_default_s3_role; the cluster uses it and has the role associated', () => {
  const [pgId, pg] = pgs;
  eq(pg.Properties.Family, 'aurora-mysql8.0', 'Family');
  assert(isGetAtt(pg.Properties.Parameters.aws_default_s3_role, s3RoleId, 'Arn'), 'aws_default_s3_role');
  const [, cluster] = one('AWS::RDS::DBCluster');
  const cp = cluster.Properties;
  assert(isRef(cp.DBClusterParameterGroupName, pgId), 'cluster does not use the parameter group');
  const assoc = arr(cp.AssociatedRoles);
  assert(assoc.length === 1 && isGetAtt(assoc[0].RoleArn, s3RoleId, 'Arn'), `AssociatedRoles ${show(assoc)}`);
  assert(!('FeatureName' in assoc[0]), 'AssociatedRoles has a FeatureName (Aurora MySQL has none)');
  return pgId;
});

check('Aurora: engine aurora-mysql 3.x, burstable instance class, master password from Secrets Manager, encrypted', () => {
  const [clusterId, cluster] = one('AWS::RDS::DBCluster');
  const cp = cluster.Properties;
  eq(cp.Engine, 'aurora-mysql', 'Engine');
  const ver = paramDefault(cp.EngineVersion);
  assert(ver === undefined || /^8\.0\.mysql_aurora\.3\./.test(ver), `EngineVersion ${show(ver)}`);
  const pw = subText(cp.MasterUserPassword);
  assert(masterSecretId && R[masterSecretId]?.Type === 'AWS::SecretsManager::Secret' && pw.includes(`{{resolve:secretsmanager:\${${masterSecretId}}:SecretString:password}}`),
    `MasterUserPassword is not a dynamic reference to a secret of this template: ${show(cp.MasterUserPassword)}`);
  assert(masterSecretId !== secretId, `the function's ROWCACHE_DB_SECRET_ARN is the master secret ${masterSecretId}`);
  assert(!('MasterUserPassword' in P), 'a password parameter exists');
  eq(cp.StorageEncrypted, true, 'StorageEncrypted');
  const [, inst] = one('AWS::RDS::DBInstance');
  assert(isRef(inst.Properties.DBClusterIdentifier, clusterId), 'instance not in the cluster');
  const cls = paramDefault(inst.Properties.DBInstanceClass);
  assert(['db.t4g.medium', 'db.t3.medium'].includes(cls), `DBInstanceClass default ${cls}`);
  eq(inst.Properties.PubliclyAccessible, false, 'PubliclyAccessible');
  return `${ver}, ${cls}`;
});

// The function's role in a concrete template: GetSecretValue on exactly
// `secrets` (logical ids), read-only S3 on the data bucket, nothing else.
function checkLambdaRole(rt, secrets) {
  const f = Object.values(rt.Resources).find((r) => r.Type === 'AWS::Lambda::Function').Properties;
  const roleId = f.Role?.['Fn::GetAtt']?.[0];
  const role = rt.Resources[roleId];
  assert(role?.Type === 'AWS::IAM::Role', 'function Role is not a role in this template');
  const managed = arr(role.Properties.ManagedPolicyArns).map((m) => subText(m) ?? m);
  assert(managed.length === 1 && managed[0].endsWith(':iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'), `managed ${show(managed)}`);
  const stmts = statements(role);
  for (const s of stmts) {
    eq(s.Effect, 'Allow', 'Effect');
    for (const a of arr(s.Action)) assert(!a.includes('*'), `wildcard action ${a}`);
    for (const r of arr(s.Resource)) assert(r !== '*', 'Resource "*"');
  }
  const sm = stmts.filter((s) => arr(s.Action).some((a) => a.startsWith('secretsmanager:')));
  for (const s of sm) eq(arr(s.Action), ['secretsmanager:GetSecretValue'], 'secrets statement Action');
  const granted = sm.flatMap((s) => arr(s.Resource).map((r) => r?.Ref ?? show(r)));
  assert(sameSet(granted, secrets), `GetSecretValue granted on ${show(granted)}, expected exactly ${show(secrets)}`);
  checkS3ReadOnly(stmts, roleId);
  assert(stmts.every((s) => arr(s.Action).every((a) => a.startsWith('s3:') || a.startsWith('secretsmanager:'))), 'other actions present');
  return roleId;
}
check('Lambda role: AWSLambdaVPCAccessExecutionRole + GetSecretValue on the DB secret (and the cache secret, when there is one) + read-only S3 on the data bucket', () => {
  const d = defaultShape.rendered;
  const cacheSecrets = Object.keys(d.Resources).filter((id) => d.Resources[id].Type === 'AWS::SecretsManager::Secret' && !dbSecretIds.includes(id));
  return `${checkLambdaRole(d, [secretId, ...cacheSecrets])}, default shape: ${cacheSecrets.length ? `also ${cacheSecrets.join(', ')}` : 'DB secret only'}`;
});

// ------------------------------------------------------- security groups
function ingressOf(sgId) {
  const rules = arr(R[sgId].Properties.SecurityGroupIngress).map((r) => ({ ...r }));
  for (const [, r] of ofType('AWS::EC2::SecurityGroupIngress')) {
    if (isRef(r.Properties.GroupId, sgId) || isGetAtt(r.Properties.GroupId, sgId, 'GroupId')) rules.push(r.Properties);
  }
  return rules;
}
function onlyFromLambda(sgId, port) {
  const rules = ingressOf(sgId);
  assert(rules.length === 1, `${sgId}: ${rules.length} ingress rules, expected 1: ${show(rules)}`);
  const r = rules[0];
  eq(String(r.IpProtocol), 'tcp', `${sgId} IpProtocol`);
  eq([r.FromPort, r.ToPort], [port, port], `${sgId} ports`);
  assert(isRef(r.SourceSecurityGroupId, lambdaSgId) || isGetAtt(r.SourceSecurityGroupId, lambdaSgId, 'GroupId'),
    `${sgId} source is not ${lambdaSgId}: ${show(r.SourceSecurityGroupId)}`);
  for (const k of ['CidrIp', 'CidrIpv6', 'SourcePrefixListId']) assert(!(k in r), `${sgId} rule has ${k}`);
}
const sgUsedBy = (type, prop) => ofType(type).flatMap(([, r]) => arr(r.Properties[prop]).map((v) => v.Ref));

check('DB security group: ingress only tcp/3306 from the Lambda security group', () => {
  const [, cluster] = one('AWS::RDS::DBCluster');
  const ids = arr(cluster.Properties.VpcSecurityGroupIds).map((v) => v.Ref);
  assert(ids.length === 1, `cluster security groups ${show(ids)}`);
  onlyFromLambda(ids[0], 3306);
  return ids[0];
});

check('Cache security group: ingress only tcp/6379 from the Lambda security group (every cache resource uses it)', () => {
  const ids = [...new Set([...sgUsedBy('AWS::ElastiCache::ReplicationGroup', 'SecurityGroupIds'),
    ...sgUsedBy('AWS::ElastiCache::ServerlessCache', 'SecurityGroupIds')])];
  assert(ids.length === 1, `cache security groups ${show(ids)}`);
  onlyFromLambda(ids[0], 6379);
  return ids[0];
});

check('Endpoint security group: ingress only tcp/443 from the Lambda security group; no ingress from anywhere', () => {
  const ids = sgUsedBy('AWS::EC2::VPCEndpoint', 'SecurityGroupIds');
  assert(ids.length === 1, `endpoint security groups ${show(ids)}`);
  onlyFromLambda(ids[0], 443);
  for (const [id] of ofType('AWS::EC2::SecurityGroup')) {
    for (const r of ingressOf(id)) assert(!r.CidrIp && !r.CidrIpv6, `${id} has CIDR ingress ${r.CidrIp || r.CidrIpv6}`);
  }
  eq(ingressOf(lambdaSgId).length, 0, `${lambdaSgId} ingress rules`);
  return ids[0];
});

// --------------------------------------------------------- cache, bucket, network
check('ElastiCache parameters: CacheMode (single-shard default), TLS and AUTH on by default, cache.t4g.micro, valkey or redis', () => {
  eq(P.CacheMode?.AllowedValues, MODES, 'CacheMode AllowedValues');
  eq(P.CacheMode.Default, 'single-shard', 'CacheMode Default');
  eq(P.CacheTransitEncryption?.AllowedValues, ['true', 'false'], 'CacheTransitEncryption AllowedValues');
  eq(P.CacheTransitEncryption.Default, 'true', 'CacheTransitEncryption Default');
  eq(P.CacheAuth?.AllowedValues, ['true', 'false'], 'CacheAuth AllowedValues');
  eq(P.CacheAuth.Default, 'true', 'CacheAuth Default');
  eq(P.CacheEngine?.AllowedValues, ['valkey', 'redis'], 'CacheEngine AllowedValues');
  eq(P.CacheNodeType?.Default, 'cache.t4g.micro', 'CacheNodeType Default');
  eq([P.CacheNumNodeGroups?.Type, P.CacheNumNodeGroups?.MinValue], ['Number', 1], 'CacheNumNodeGroups type/minimum');
  eq([P.CacheReplicasPerNodeGroup?.Type, P.CacheReplicasPerNodeGroup?.MinValue, P.CacheReplicasPerNodeGroup?.MaxValue], ['Number', 0, 5], 'CacheReplicasPerNodeGroup type/range');
  const [sngId] = one('AWS::ElastiCache::SubnetGroup');
  for (const [id, r] of ofType('AWS::ElastiCache::ReplicationGroup')) assert(isRef(r.Properties.CacheSubnetGroupName, sngId), `${id} subnet group`);
  return `defaults: ${P.CacheMode.Default}, engine ${P.CacheEngine.Default}, ${P.CacheNumNodeGroups.Default} shards x ${P.CacheReplicasPerNodeGroup.Default} replicas in cluster mode`;
});

// Per shape: the one cache resource of the mode, the endpoint the function
// gets (primary / configuration / Serverless endpoint), rediss:// whenever
// TLS, and with AUTH the generated secret behind the AUTH token or the RBAC
// user, the function's ROWCACHE_CACHE_SECRET_ARN and its access to the secret.
const CACHE_TYPES = ['AWS::ElastiCache::ReplicationGroup', 'AWS::ElastiCache::ServerlessCache'];
const ENDPOINT_ATTR = { 'single-shard': 'PrimaryEndPoint', cluster: 'ConfigurationEndPoint', serverless: 'Endpoint' };
for (const sh of shapes) {
  check(`shape ${sh.label}: ${sh.CacheMode}, ${sh.tls ? 'rediss://' : 'redis://'}, ${sh.auth ? (sh.CacheMode === 'serverless' ? 'RBAC user "default"' : 'AUTH token') : 'no AUTH'}`, () => {
    assert(sh.rendered, 'not rendered');
    const RR = sh.rendered.Resources;
    const typed = (type) => Object.entries(RR).filter(([, r]) => r.Type === type);
    const caches = Object.entries(RR).filter(([, r]) => CACHE_TYPES.includes(r.Type));
    assert(caches.length === 1, `cache resources: ${show(caches.map(([id]) => id))}`);
    const [cid, cache] = caches[0];
    const cp = cache.Properties;
    const attr = ENDPOINT_ATTR[sh.CacheMode];
    const endpoint = `\${${cid}.${attr}.Address}:\${${cid}.${attr}.Port}`;
    const [, f] = typed('AWS::Lambda::Function')[0];
    const env = f.Properties.Environment.Variables;
    const url = `${sh.tls ? 'rediss' : 'redis'}://${endpoint}`;
    eq(subText(env.ROWCACHE_CACHE), url, 'ROWCACHE_CACHE');
    assert(typeof env.ROWCACHE_CACHE['Fn::Sub'] === 'string', 'ROWCACHE_CACHE is not fully resolved');
    eq(subText(sh.rendered.Outputs.CacheUrl?.Value), url, 'CacheUrl output');
    eq(subText(sh.rendered.Outputs.CacheEndpoint?.Value), endpoint, 'CacheEndpoint output');
    const sgs = arr(cp.SecurityGroupIds).map((v) => v.Ref);
    assert(sgs.length === 1 && R[sgs[0]]?.Type === 'AWS::EC2::SecurityGroup', `cache SecurityGroupIds ${show(cp.SecurityGroupIds)}`);

    if (sh.CacheMode === 'serverless') {
      eq(cache.Type, 'AWS::ElastiCache::ServerlessCache', `${cid} type`);
      eq(sameSet(arr(cp.SubnetIds).map((v) => v.Ref), subnets.map(([id]) => id)), true, 'Serverless SubnetIds are the two private subnets');
      assert(isRef(cp.Engine, 'CacheEngine'), 'Serverless Engine is not CacheEngine');
      const major = cp.MajorEngineVersion?.['Fn::FindInMap'];
      assert(major && major[0] in (t.Mappings || {}), `MajorEngineVersion ${show(cp.MajorEngineVersion)}`);
      for (const engine of P.CacheEngine.AllowedValues) assert(/^\d+$/.test(t.Mappings[major[0]][engine]?.[major[2]]), `${engine}: major version ${show(t.Mappings[major[0]][engine]?.[major[2]])}`);
      const name = cp.ServerlessCacheName;
      assert(name && !isRef(name, 'AWS::StackName') && !show(name).includes('AWS::StackName'),
        'ServerlessCacheName must not contain the stack name (upper case, up to 128 characters)');
    } else {
      eq(cache.Type, 'AWS::ElastiCache::ReplicationGroup', `${cid} type`);
      eq(cp.TransitEncryptionEnabled, sh.tls, 'TransitEncryptionEnabled');
      eq(cp.AtRestEncryptionEnabled, true, 'AtRestEncryptionEnabled');
      eq(cp.Port, 6379, 'Port');
      if (sh.CacheMode === 'cluster') {
        eq(cp.ClusterMode, 'enabled', 'ClusterMode');
        assert(isRef(cp.NumNodeGroups, 'CacheNumNodeGroups'), `NumNodeGroups ${show(cp.NumNodeGroups)}`);
        assert(isRef(cp.ReplicasPerNodeGroup, 'CacheReplicasPerNodeGroup'), `ReplicasPerNodeGroup ${show(cp.ReplicasPerNodeGroup)}`);
        assert(!('NumCacheClusters' in cp), 'NumCacheClusters set in cluster mode');
        eq(cp.AutomaticFailoverEnabled, true, 'AutomaticFailoverEnabled (cluster mode requires it)');
        eq(cp.MultiAZEnabled, sh.replicas > 0, `MultiAZEnabled with ${sh.replicas} replicas`);
        const pg = cp.CacheParameterGroupName?.['Fn::FindInMap'];
        assert(pg, `CacheParameterGroupName ${show(cp.CacheParameterGroupName)}`);
        for (const engine of P.CacheEngine.AllowedValues) {
          const name = t.Mappings[pg[0]][engine]?.[pg[2]];
          const version = t.Mappings[pg[0]][engine]?.Version;
          assert(name === `default.${engine}${String(version).split('.')[0]}.cluster.on`, `${engine} ${version}: cluster parameter group ${show(name)}`);
        }
      } else {
        eq(cp.NumCacheClusters, 1, 'NumCacheClusters');
        assert(!('NumNodeGroups' in cp) && !('ReplicasPerNodeGroup' in cp), 'shards set on the single-shard group');
        assert(cp.ClusterMode === undefined || cp.ClusterMode === 'disabled', `ClusterMode ${show(cp.ClusterMode)}`);
      }
    }

    const cacheSecrets = typed('AWS::SecretsManager::Secret').filter(([id]) => !dbSecretIds.includes(id));
    const users = typed('AWS::ElastiCache::User');
    const groups = typed('AWS::ElastiCache::UserGroup');
    const out = sh.rendered.Outputs;
    if (!sh.auth) {
      eq(cacheSecrets.length, 0, 'cache secrets without AUTH');
      assert(!('ROWCACHE_CACHE_SECRET_ARN' in env), 'ROWCACHE_CACHE_SECRET_ARN set without AUTH');
      assert(!('AuthToken' in cp) && !('UserGroupId' in cp), 'AuthToken/UserGroupId without AUTH');
      eq(users.length + groups.length, 0, 'RBAC users and groups without AUTH');
      assert(!out.CacheSecretArn, 'CacheSecretArn output without AUTH');
      checkLambdaRole(sh.rendered, [secretId]);
      return 'no cache secret';
    }
    assert(cacheSecrets.length === 1, `cache secrets: ${show(cacheSecrets.map(([id]) => id))}`);
    const [sid, s] = cacheSecrets[0];
    const g = s.Properties.GenerateSecretString || {};
    eq(g.GenerateStringKey, 'password', 'cache secret GenerateStringKey');
    eq(g.ExcludePunctuation, true, 'cache secret ExcludePunctuation (an AUTH token may not hold @, " or /)');
    assert(g.PasswordLength >= 16 && g.PasswordLength <= 128, `cache secret PasswordLength ${g.PasswordLength} (AUTH tokens are 16-128 characters)`);
    assert(typeof JSON.parse(g.SecretStringTemplate) === 'object', 'SecretStringTemplate is not a JSON object');
    const dynref = `{{resolve:secretsmanager:\${${sid}}:SecretString:password}}`;
    assert(isRef(env.ROWCACHE_CACHE_SECRET_ARN, sid), `ROWCACHE_CACHE_SECRET_ARN ${show(env.ROWCACHE_CACHE_SECRET_ARN)}`);
    assert(isRef(out.CacheSecretArn?.Value, sid), 'CacheSecretArn output');
    checkLambdaRole(sh.rendered, [secretId, sid]);
    if (sh.CacheMode === 'serverless') {
      const gid = cp.UserGroupId?.Ref;
      assert(RR[gid]?.Type === 'AWS::ElastiCache::UserGroup', `UserGroupId ${show(cp.UserGroupId)}`);
      const gp = RR[gid].Properties;
      assert(['redis', 'valkey'].includes(gp.Engine), `user group Engine ${gp.Engine}`);
      const members = arr(gp.UserIds).map((u) => u.Ref);
      assert(members.length >= 1 && members.every((u) => RR[u]?.Type === 'AWS::ElastiCache::User'), `UserIds ${show(gp.UserIds)}`);
      const dflt = members.filter((u) => RR[u].Properties.UserName === 'default');
      assert(dflt.length === 1, 'the user group has no user named "default" (ElastiCache requires one)');
      for (const u of members) {
        const up = RR[u].Properties;
        eq(up.AuthenticationMode?.Type, 'password', `${u} AuthenticationMode.Type`);
        eq(arr(up.AuthenticationMode.Passwords).map(subText), [dynref], `${u} password`);
        assert(!up.NoPasswordRequired, `${u} NoPasswordRequired`);
        assert(/^on\s/.test(up.AccessString), `${u} AccessString ${show(up.AccessString)} does not switch the user on`);
        eq(up.Engine, gp.Engine, `${u} Engine`);
      }
      const ids = [...members.map((u) => RR[u].Properties.UserId), gp.UserGroupId];
      for (const id of ids) assert(show(id).includes('AWS::StackId') && !show(id).includes('AWS::StackName'), `user/group id ${show(id)} is not unique per stack or may hold upper case`);
      return `user group ${gid}, user "default" = ${dflt[0]}, password from ${sid}`;
    }
    eq(subText(cp.AuthToken), dynref, 'AuthToken');
    eq(cp.TransitEncryptionEnabled, true, 'TransitEncryptionEnabled (AuthToken requires it)');
    eq(users.length + groups.length, 0, 'RBAC users and groups on a replication group');
    return `AuthToken from ${sid}`;
  });
}

check('S3 data bucket: public access blocked, default encryption on', () => {
  const p = bucket.Properties;
  eq(p.PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true }, 'PublicAccessBlockConfiguration');
  const algo = p.BucketEncryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault?.SSEAlgorithm;
  assert(['AES256', 'aws:kms', 'aws:kms:dsse'].includes(algo), `SSEAlgorithm ${algo}`);
  return `${bucketId}, ${algo}`;
});

check('Network: VPC with two private subnets in two AZs, S3 gateway + Secrets Manager interface endpoints, no NAT or internet gateway', () => {
  assert(subnets.length === 2, `${subnets.length} subnets`);
  const az = subnets.map(([, s]) => show(s.Properties.AvailabilityZone));
  assert(az[0] !== az[1], 'both subnets name the same AZ expression');
  for (const [id, s] of subnets) assert(s.Properties.MapPublicIpOnLaunch !== true, `${id} maps public IPs`);
  for (const type of ['AWS::EC2::InternetGateway', 'AWS::EC2::NatGateway', 'AWS::EC2::EIP']) eq(ofType(type).length, 0, `${type} count`);
  const eps = ofType('AWS::EC2::VPCEndpoint').map(([, r]) => r.Properties);
  const s3 = eps.find((e) => subText(e.ServiceName)?.endsWith('.s3'));
  const sm = eps.find((e) => subText(e.ServiceName)?.endsWith('.secretsmanager'));
  assert(s3 && s3.VpcEndpointType === 'Gateway' && arr(s3.RouteTableIds).length === 1, 'S3 gateway endpoint');
  assert(sm && sm.VpcEndpointType === 'Interface' && sm.PrivateDnsEnabled === true && arr(sm.SubnetIds).length === 2, 'Secrets Manager interface endpoint');
  const [, vpc] = one('AWS::EC2::VPC');
  assert(vpc.Properties.EnableDnsSupport === true && vpc.Properties.EnableDnsHostnames === true, 'VPC DNS support/hostnames');
});

check('Outputs: ApiUrl, BucketName, ClusterEndpoint, CacheEndpoint, CacheUrl, CacheMode, FunctionName, DbSecretArn (CacheSecretArn: per shape)', () => {
  const o = t.Outputs || {};
  for (const k of ['ApiUrl', 'BucketName', 'ClusterEndpoint', 'CacheEndpoint', 'CacheUrl', 'CacheMode', 'FunctionName', 'DbSecretArn']) assert(o[k], `no output ${k}`);
  assert(isRef(o.CacheMode.Value, 'CacheMode'), 'CacheMode output');
  eq(subText(o.ApiUrl.Value), `https://\${${apiId}}.execute-api.\${AWS::Region}.amazonaws.com/prod/`, 'ApiUrl');
  assert(isRef(o.BucketName.Value, bucketId), 'BucketName');
  assert(isRef(o.DbSecretArn.Value, masterSecretId), 'DbSecretArn is not the master secret');
  assert(isRef(o.AppDbSecretArn?.Value, secretId), 'AppDbSecretArn is not the function\'s secret');
  assert(isRef(o.FunctionName.Value, fnId), 'FunctionName');
  return Object.keys(o).length + ' outputs';
});

// ------------------------------------------------------- least privilege
check('Least privilege: the function uses the application user (DbAppUsername, its own generated secret, no CREATE at init), never the master user or its secret', () => {
  const env = fp.Environment.Variables;
  const db = subText(env.ROWCACHE_DB);
  eq(db.match(/^mysql:\/\/([^@]*)@/)?.[1], '${DbAppUsername}', 'ROWCACHE_DB user');
  assert(P.DbAppUsername && P.DbAppUsername.Default !== P.DbMasterUsername?.Default, 'DbAppUsername parameter missing or defaulting to the master user');
  assert(new RegExp(P.DbAppUsername.AllowedPattern).test(P.DbAppUsername.Default), 'DbAppUsername default fails its own pattern');
  for (const bad of ["x'y", 'a b', 'a@b', 'x'.repeat(33), '1abc']) assert(!new RegExp(P.DbAppUsername.AllowedPattern).test(bad), `DbAppUsername pattern accepts ${show(bad)} (it is spliced into SQL)`);
  const g = secret.Properties.GenerateSecretString;
  eq(subText(g.SecretStringTemplate), '{"username": "${DbAppUsername}"}', 'application secret SecretStringTemplate');
  eq([g.GenerateStringKey, g.ExcludePunctuation], ['password', true], 'application secret GenerateStringKey / ExcludePunctuation');
  assert(g.PasswordLength >= 20, `application password length ${g.PasswordLength}`);
  eq(env.ROWCACHE_CREATE_TABLE, '0', 'ROWCACHE_CREATE_TABLE (the application user may not CREATE)');
  const rule = Object.values(t.Rules || {}).flatMap((r) => arr(r.Assertions)).find((a) => show(a.Assert).includes('DbAppUsername') && show(a.Assert).includes('DbMasterUsername'));
  assert(rule && show(rule.Assert).startsWith('{"Fn::Not":[{"Fn::Equals"'), 'no Rules assertion that DbAppUsername differs from DbMasterUsername');
  const attach = ofType('AWS::SecretsManager::SecretTargetAttachment').map(([, r]) => r.Properties.SecretId?.Ref);
  assert(attach.includes(secretId), `no SecretTargetAttachment for ${secretId} (host/port for rotation functions)`);
  const o = t.Outputs;
  assert(isRef(o.AppDbUsername?.Value, 'DbAppUsername'), 'AppDbUsername output');
  for (const sh of shapes) {
    const f = Object.values(sh.rendered.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
    const role = sh.rendered.Resources[f.Properties.Role['Fn::GetAtt'][0]];
    assert(!show(role).includes(`"${masterSecretId}"`), `${sh.label}: the function's role names the master secret ${masterSecretId}`);
  }
  return `${P.DbAppUsername.Default} with ${secretId}; master ${P.DbMasterUsername.Default} with ${masterSecretId}, for load.sh only`;
});

// ------------------------------------------------------ API authentication
check('ApiAuth: AWS_IAM (default) | API_KEY | NONE; each rendered: the method\'s AuthorizationType/ApiKeyRequired, the key + usage plan + ApiKeyId output, or the invoke policy', () => {
  eq(P.ApiAuth?.AllowedValues, ['AWS_IAM', 'API_KEY', 'NONE'], 'ApiAuth AllowedValues');
  eq(P.ApiAuth.Default, 'AWS_IAM', 'ApiAuth Default (secure by default)');
  const seen = [];
  for (const sh of [defaultShape, ...shapes]) {
    const mode = sh.values.ApiAuth;
    const RR = sh.rendered.Resources;
    const typed = (type) => Object.entries(RR).filter(([, r]) => r.Type === type);
    const [[, m]] = typed('AWS::ApiGateway::Method');
    const mp = m.Properties;
    eq(mp.AuthorizationType, mode === 'AWS_IAM' ? 'AWS_IAM' : 'NONE', `${sh.label}: AuthorizationType`);
    eq(mp.ApiKeyRequired, mode === 'API_KEY', `${sh.label}: ApiKeyRequired`);
    const keys = typed('AWS::ApiGateway::ApiKey');
    const plans = typed('AWS::ApiGateway::UsagePlan');
    const planKeys = typed('AWS::ApiGateway::UsagePlanKey');
    const policies = typed('AWS::IAM::ManagedPolicy');
    const out = sh.rendered.Outputs;
    eq(out.ApiAuth?.Value?.Ref, 'ApiAuth', 'ApiAuth output');
    if (mode === 'API_KEY') {
      assert(keys.length === 1 && plans.length === 1 && planKeys.length === 1, `${sh.label}: ${keys.length} keys, ${plans.length} plans, ${planKeys.length} plan keys`);
      const [kid, k] = keys[0];
      const [pid, plan] = plans[0];
      eq(k.Properties.Enabled, true, 'ApiKey Enabled');
      const stages = arr(plan.Properties.ApiStages);
      const [stageId] = typed('AWS::ApiGateway::Stage')[0];
      assert(stages.length === 1 && isRef(stages[0].ApiId, apiId) && isRef(stages[0].Stage, stageId), `usage plan ApiStages ${show(stages)}`);
      const pk = planKeys[0][1].Properties;
      assert(isRef(pk.KeyId, kid) && isRef(pk.UsagePlanId, pid) && pk.KeyType === 'API_KEY', `UsagePlanKey ${show(pk)}`);
      assert(isRef(out.ApiKeyId?.Value, kid), 'ApiKeyId output');
      assert(!out.ApiInvokePolicyArn && policies.length === 0, 'an invoke policy with API_KEY');
    } else {
      assert(keys.length + plans.length + planKeys.length === 0 && !out.ApiKeyId, `${sh.label}: API key resources without API_KEY`);
    }
    if (mode === 'AWS_IAM') {
      assert(policies.length === 1, `${sh.label}: ${policies.length} managed policies`);
      const [polId, pol] = policies[0];
      const st = arr(pol.Properties.PolicyDocument.Statement);
      assert(st.length === 1 && st[0].Effect === 'Allow' && show(arr(st[0].Action)) === '["execute-api:Invoke"]', `invoke policy ${show(st)}`);
      eq(subText(st[0].Resource), `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${apiId}}/prod/POST/`, 'invoke policy Resource');
      assert(isRef(out.ApiInvokePolicyArn?.Value, polId), 'ApiInvokePolicyArn output');
    } else {
      assert(policies.length === 0 && !out.ApiInvokePolicyArn, `${sh.label}: an invoke policy without AWS_IAM`);
    }
    if (!seen.includes(mode)) seen.push(mode);
  }
  eq(seen.sort(), ['API_KEY', 'AWS_IAM', 'NONE'], 'ApiAuth values rendered');
  return 'AWS_IAM, API_KEY and NONE rendered and validated';
});

// ---------------------------------------------------------------- VpcCidr
// Fn::Cidr as CloudFormation computes it (IPv4): `count` blocks of 2^bits
// addresses from the start of the block; an error if they do not fit.
function fnCidr(block, count, bits) {
  const [addr, prefix] = block.split('/');
  const base = addr.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(prefix));
  assert(base % size === 0, `${block}: host bits set`);
  assert(count * 2 ** bits <= size, `${block}: ${count} blocks of /${32 - bits} do not fit`);
  const ip = (n) => [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
  return Array.from({ length: count }, (_, i) => `${ip(base + i * 2 ** bits)}/${32 - bits}`);
}
check('VpcCidr: only network addresses of /16 to /19 pass its AllowedPattern, and for each the two private subnets (Fn::Cidr) are disjoint /20s inside the VPC', () => {
  const re = new RegExp(P.VpcCidr.AllowedPattern);
  const good = ['10.42.0.0/16', '10.0.0.0/17', '10.0.128.0/17', '172.16.64.0/18', '192.168.192.0/18', '10.42.32.0/19', '10.42.224.0/19', '255.255.0.0/16'];
  const bad = ['10.42.0.0/20', '10.42.0.0/24', '10.42.0.0/15', '10.42.1.0/16', '10.42.16.0/19', '10.42.64.0/17', '10.42.96.0/18',
    '10.42.32.0/18', '256.1.0.0/16', '10.042.0.0/16', '10.42.0.1/19', '10.42.0.0', '10.42.0.0/16 ', ' 10.42.0.0/16'];
  for (const c of good) assert(re.test(c), `AllowedPattern refuses ${c}`);
  for (const c of bad) assert(!re.test(c), `AllowedPattern accepts ${c}`);
  assert(re.test(P.VpcCidr.Default), 'the default fails the pattern');
  const cidrs = subnets.map(([, sn]) => sn.Properties.CidrBlock['Fn::Select']);
  const [[i0, c0], [i1, c1]] = cidrs.map(([i, c]) => [i, c['Fn::Cidr']]);
  assert(isGetAtt(c0[0], one('AWS::EC2::VPC')[0], 'CidrBlock') && show(c0) === show(c1), `subnets' Fn::Cidr ${show([c0, c1])}`);
  eq(sameSet([i0, i1].map(String), ['0', '1']), true, 'subnets take blocks 0 and 1');
  for (const c of good) {
    const blocks = fnCidr(c, c0[1], c0[2]);
    const [b0, b1] = [blocks[i0], blocks[i1]];
    assert(b0 !== b1 && b0.endsWith('/20') && b1.endsWith('/20'), `${c}: subnets ${b0} ${b1}`);
  }
  return `e.g. 10.42.32.0/19 -> ${fnCidr('10.42.32.0/19', c0[1], c0[2]).join(', ')}`;
});

// ------------------------------------------------------ engine version policy
check('Aurora engine version: pinned (DbEngineVersion, a full 3.x.y version) with automatic minor version upgrades off', () => {
  const [, cluster] = one('AWS::RDS::DBCluster');
  const [, inst] = one('AWS::RDS::DBInstance');
  assert(isRef(cluster.Properties.EngineVersion, 'DbEngineVersion'), `EngineVersion ${show(cluster.Properties.EngineVersion)}`);
  assert(/^8\.0\.mysql_aurora\.3\.\d{2}\.\d+$/.test(P.DbEngineVersion.Default), `DbEngineVersion default ${P.DbEngineVersion.Default}`);
  eq(inst.Properties.AutoMinorVersionUpgrade, false, 'DBInstance AutoMinorVersionUpgrade (a pinned version must not drift)');
  assert(cluster.Properties.AutoMinorVersionUpgrade !== true, 'the cluster upgrades minor versions automatically');
  return P.DbEngineVersion.Default;
});

if (!process.env.ROWCACHE_RENDERED_DIR) fs.rmSync(renderedDir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
