// Offline checks of deploy/template.yaml:
//   1. it is plain YAML (long-form intrinsics, no custom tags);
//   2. @aws/cloudformation-validate (AWS's offline CloudFormation validator,
//      the cfn-lint rules and resource schemas compiled to WebAssembly) finds
//      no FATAL, ERROR or WARN diagnostic for us-east-1;
//   3. the same validator does reject a deliberately broken copy (so a
//      validator that checks nothing cannot pass step 2);
//   4. structural facts of the design (integration type, runtime, IAM scope,
//      security group rules, ...).
// Usage: node check_template.mjs TEMPLATE
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

check(`@aws/cloudformation-validate ${validatorVersion()}: no FATAL/ERROR/WARN diagnostics (region ${REGION})`, () => {
  const report = validate(templatePath);
  const bad = report.diagnostics.filter((d) => blocking.has(d.severity));
  assert(bad.length === 0, bad.map(fmt).join('\n'));
  eq(report.status, 'OK', 'report status');
  const info = report.diagnostics.length;
  return `${schemaCount()} resource schemas; ${info} INFO notices`;
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
    const bad = report.diagnostics.filter((d) => blocking.has(d.severity));
    const ids = [...new Set(bad.map((d) => d.ruleId))].sort();
    assert(bad.length >= 4, `only ${bad.length} blocking diagnostics for 4 planted faults: ${ids.join(', ')}`);
    return `${bad.length} diagnostics: ${ids.join(', ')}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

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

const [secretId, secret] = one('AWS::SecretsManager::Secret');
check('Lambda: environment ROWCACHE_DB (no password), ROWCACHE_DB_SECRET_ARN, ROWCACHE_CACHE (redis/rediss by parameter), ROWCACHE_TTL', () => {
  const env = fp.Environment.Variables;
  const db = subText(env.ROWCACHE_DB);
  assert(db && /^mysql:\/\/(\$\{\w+\}|\w+)@\$\{[\w.]+\}:(3306|\$\{[\w.]+\})\/(\$\{\w+\}|\w+)$/.test(db), `ROWCACHE_DB: ${show(env.ROWCACHE_DB)}`);
  assert(!/^mysql:\/\/[^@]*:[^@]*@/.test(db), 'ROWCACHE_DB carries a password');
  assert(isRef(env.ROWCACHE_DB_SECRET_ARN, secretId), `ROWCACHE_DB_SECRET_ARN: ${show(env.ROWCACHE_DB_SECRET_ARN)}`);
  const ifc = env.ROWCACHE_CACHE?.['Fn::If'];
  assert(Array.isArray(ifc) && ifc.length === 3, `ROWCACHE_CACHE is not an Fn::If: ${show(env.ROWCACHE_CACHE)}`);
  const [cond, whenTrue, whenFalse] = ifc;
  assert(subText(whenTrue)?.startsWith('rediss://') && subText(whenTrue).endsWith(':${CacheReplicationGroup.PrimaryEndPoint.Port}'), 'true branch is not rediss://host:port');
  assert(subText(whenFalse)?.startsWith('redis://'), 'false branch is not redis://host:port');
  const c = t.Conditions?.[cond]?.['Fn::Equals'];
  assert(c && isRef(c[0], 'CacheTransitEncryption') && c[1] === 'true', `condition ${cond} is not CacheTransitEncryption == "true"`);
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

function checkS3ReadOnly(stmts, who) {
  const s3 = stmts.filter((s) => arr(s.Action).some((a) => a.startsWith('s3:')));
  for (const s of s3) {
    eq(s.Effect, 'Allow', `${who} S3 statement Effect`);
    for (const a of arr(s.Action)) {
      assert(a === 's3:GetObject' || a === 's3:ListBucket', `${who} allows ${a}`);
      for (const r of arr(s.Resource)) {
        if (a === 's3:ListBucket') assert(bucketArn(r, bucketId), `${who}: s3:ListBucket on ${show(r)}`);
        else assert(objectsArn(r, bucketId), `${who}: s3:GetObject on ${show(r)}`);
      }
    }
  }
  const actions = [...new Set(s3.flatMap((s) => arr(s.Action)))];
  assert(sameSet(actions, ['s3:GetObject', 's3:ListBucket']), `${who} S3 actions: ${show(actions)}`);
}

const pgs = one('AWS::RDS::DBClusterParameterGroup');
const s3RoleId = pgs[1].Properties.Parameters?.aws_default_s3_role?.['Fn::GetAtt']?.[0];
check('Aurora S3 role: trusted by rds.amazonaws.com, allows only s3:GetObject and s3:ListBucket on the data bucket', () => {
  assert(s3RoleId && R[s3RoleId]?.Type === 'AWS::IAM::Role', 'aws_default_s3_role is not a GetAtt of a role in this template');
  const role = R[s3RoleId];
  const trust = arr(role.Properties.AssumeRolePolicyDocument.Statement);
  assert(trust.length === 1 && trust[0].Principal?.Service === 'rds.amazonaws.com', `trust policy ${show(trust)}`);
  assert(!role.Properties.ManagedPolicyArns, 'the role has managed policies');
  const stmts = statements(role);
  assert(stmts.every((s) => s.Effect === 'Allow' && arr(s.Action).every((a) => a.startsWith('s3:'))), 'non-S3 statements present');
  checkS3ReadOnly(stmts, s3RoleId);
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
  assert(cp.ManageMasterUserPassword === true || (pw && pw.includes(`{{resolve:secretsmanager:\${${secretId}}:SecretString:password}}`)),
    `MasterUserPassword is not a dynamic reference to ${secretId}`);
  assert(!('MasterUserPassword' in P), 'a password parameter exists');
  eq(cp.StorageEncrypted, true, 'StorageEncrypted');
  const [, inst] = one('AWS::RDS::DBInstance');
  assert(isRef(inst.Properties.DBClusterIdentifier, clusterId), 'instance not in the cluster');
  const cls = paramDefault(inst.Properties.DBInstanceClass);
  assert(['db.t4g.medium', 'db.t3.medium'].includes(cls), `DBInstanceClass default ${cls}`);
  eq(inst.Properties.PubliclyAccessible, false, 'PubliclyAccessible');
  return `${ver}, ${cls}`;
});

check('Lambda role: AWSLambdaVPCAccessExecutionRole + GetSecretValue on the DB secret only + read-only S3 on the data bucket', () => {
  const roleId = fp.Role?.['Fn::GetAtt']?.[0];
  const role = R[roleId];
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
  assert(sm.length === 1 && sameSet(arr(sm[0].Action), ['secretsmanager:GetSecretValue']), `secrets statements ${show(sm)}`);
  assert(arr(sm[0].Resource).length === 1 && isRef(arr(sm[0].Resource)[0], secretId), 'GetSecretValue not limited to the DB secret');
  checkS3ReadOnly(stmts, roleId);
  assert(stmts.every((s) => arr(s.Action).every((a) => a.startsWith('s3:') || a.startsWith('secretsmanager:'))), 'other actions present');
  return roleId;
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

check('Cache security group: ingress only tcp/6379 from the Lambda security group', () => {
  const ids = sgUsedBy('AWS::ElastiCache::ReplicationGroup', 'SecurityGroupIds');
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
check('ElastiCache: replication group (redis/valkey) on cache.t4g.micro, transit encryption follows CacheTransitEncryption', () => {
  const [, rg] = one('AWS::ElastiCache::ReplicationGroup');
  const p = rg.Properties;
  const engine = paramDefault(p.Engine);
  assert(['redis', 'valkey'].includes(engine), `Engine ${engine}`);
  eq(paramDefault(p.CacheNodeType), 'cache.t4g.micro', 'CacheNodeType default');
  const tls = p.TransitEncryptionEnabled?.['Fn::If'];
  assert(tls && tls[1] === true && tls[2] === false, `TransitEncryptionEnabled ${show(p.TransitEncryptionEnabled)}`);
  eq(tls[0], fp.Environment.Variables.ROWCACHE_CACHE['Fn::If'][0], 'TLS condition shared with ROWCACHE_CACHE');
  eq(P.CacheTransitEncryption?.AllowedValues, ['true', 'false'], 'CacheTransitEncryption AllowedValues');
  const [sngId] = one('AWS::ElastiCache::SubnetGroup');
  assert(isRef(p.CacheSubnetGroupName, sngId), 'subnet group');
  return `${engine}, ${p.CacheNodeType.Ref ? 'parameter' : 'fixed'} node type`;
});

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

check('Outputs: ApiUrl, BucketName, ClusterEndpoint, CacheEndpoint, FunctionName, DbSecretArn', () => {
  const o = t.Outputs || {};
  for (const k of ['ApiUrl', 'BucketName', 'ClusterEndpoint', 'CacheEndpoint', 'FunctionName', 'DbSecretArn']) assert(o[k], `no output ${k}`);
  eq(subText(o.ApiUrl.Value), `https://\${${apiId}}.execute-api.\${AWS::Region}.amazonaws.com/prod/`, 'ApiUrl');
  assert(isRef(o.BucketName.Value, bucketId), 'BucketName');
  assert(isRef(o.DbSecretArn.Value, secretId), 'DbSecretArn');
  assert(isRef(o.FunctionName.Value, fnId), 'FunctionName');
  return Object.keys(o).length + ' outputs';
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
