import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ENV_VARS, loadConfig } from '../src/config/load-config.js';
import { spawnUntil } from './support/spawn-until.js';
import { tempDbPath } from './support/temp-db.js';
import { TEST_MASTER_KEY_BASE64 } from './support/test-cipher.js';

/**
 * The deployment files name things the service really has: every probe path answers on the
 * running service, every port is the one it listens on, every environment variable is one the
 * configuration loader reads (and the set of them loads), and every metric an alert rule or a
 * dashboard panel uses is exported by GET /metrics. The alert rules pass promtool's own checks.
 */
const DEPLOY = 'deploy';
const K8S = join(DEPLOY, 'kubernetes');

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Every Kubernetes object in deploy/kubernetes the kustomization applies. */
function kubernetesObjects(): Obj[] {
  const kustomization = obj(parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')));
  return arr(kustomization.resources).flatMap((file) =>
    parseAllDocuments(readFileSync(join(K8S, String(file)), 'utf8')).map((d) => {
      expect(d.errors, String(file)).toEqual([]);
      return obj(d.toJS());
    }),
  );
}

function one(objects: readonly Obj[], kind: string): Obj {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] ?? {};
}

interface Container {
  readonly env: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  readonly ports: Array<{ name: string; containerPort: number }>;
  readonly livenessProbe: Obj;
  readonly readinessProbe: Obj;
  readonly lifecycle: Obj;
  readonly resources: { requests?: Record<string, string> };
}

const deployment = (): { spec: Obj; container: Container; labels: Obj } => {
  const d = one(kubernetesObjects(), 'Deployment');
  const template = obj(obj(d.spec).template);
  const spec = obj(template.spec);
  const containers = arr(spec.containers);
  expect(containers).toHaveLength(1);
  return { spec, container: containers[0] as Container, labels: obj(obj(template.metadata).labels) };
};

/** Stand-ins for values a Secret or the operator's shell supplies: valid, so the whole set must load. */
const PLACEHOLDERS: Readonly<Record<string, string>> = {
  AUTOGLM_DB: 'postgres://autoglm:secret@postgres:5432/autoglm',
  AUTOGLM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
  AUTOGLM__RATE_LIMIT__REDIS_URL: 'redis://redis:6379/0',
};

/** Each name is one the loader reads, and together (secrets filled in) they make a valid configuration. */
function expectLoads(env: Record<string, string>, where: string): ReturnType<typeof loadConfig> {
  const known = new Set(ENV_VARS.map((v) => v.name).filter((n) => !n.includes('SECTION')));
  for (const name of Object.keys(env))
    expect(known.has(name) || name.startsWith('AUTOGLM__'), `${where}: ${name} is not read by the service`).toBe(true);
  const loaded = loadConfig({ env });
  expect(loaded.ok ? [] : loaded.error.issues, where).toEqual([]);
  return loaded;
}

function k8sEnv(container: Container): Record<string, string> {
  return Object.fromEntries(
    container.env.map((e) => {
      const value = e.value ?? PLACEHOLDERS[e.name];
      expect(value, `${e.name}: neither a value nor a known secret`).toBeDefined();
      return [e.name, value ?? ''];
    }),
  );
}

/** What the tests give compose's SIMULATOR_SECRET (`openssl rand -hex 24` in real use). */
const COMPOSE_SIMULATOR_SECRET = '0123456789abcdef0123456789abcdef0123456789abcdef';

/** The compose file's services, with `${VAR:?…}` substitutions filled from the placeholders. */
function composeServices(): Record<string, Obj> {
  const text = readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8').replace(
    /\$\{(\w+)(?::\?[^}]*)?\}/g,
    (_m, name: string) =>
      name === 'AUTOGLM_MASTER_KEY'
        ? TEST_MASTER_KEY_BASE64
        : name === 'POSTGRES_PASSWORD'
          ? 'secret'
          : name === 'SIMULATOR_SECRET'
            ? COMPOSE_SIMULATOR_SECRET
            : 'x',
  );
  return obj(obj(parse(text, { merge: true })).services) as Record<string, Obj>;
}

/** A compose service's environment as strings. */
function serviceEnv(service: Obj | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(obj(service?.environment)).map(([k, v]) => [k, String(v)]));
}

/**
 * A deployment's environment run here: on a local SQLite file and a free loopback port, warnings
 * only, the first admin key beside the file, no Redis, and none of this machine's own AUTOGLM_*.
 */
function localServiceEnv(deployed: Record<string, string>, db: string): Record<string, string | undefined> {
  const { AUTOGLM__RATE_LIMIT__REDIS_URL: _redis, ...rest } = deployed;
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUTOGLM'))),
    ...rest,
    AUTOGLM_DB: `sqlite:${db}`,
    AUTOGLM_HOST: '127.0.0.1',
    AUTOGLM_PORT: '0',
    AUTOGLM_LOG_LEVEL: 'warn',
    AUTOGLM__AUTH__ADMIN_KEY_FILE: `${db}.admin-key`,
  };
}

/** The Dockerfile as (instruction, arguments) per stage. */
function dockerStages(): Array<{ from: string; lines: Array<[string, string]> }> {
  const text = readFileSync('Dockerfile', 'utf8').replace(/\\\n/g, ' ');
  const stages: Array<{ from: string; lines: Array<[string, string]> }> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const [, op = '', args = ''] = m;
    if (op.toUpperCase() === 'FROM') stages.push({ from: args, lines: [] });
    stages.at(-1)?.lines.push([op.toUpperCase(), args]);
  }
  return stages;
}

/** Metric names in PromQL expressions: ours, prom-client's process and Node metrics, and `up`. */
function metricNames(exprs: readonly string[]): string[] {
  return [...new Set(exprs.flatMap((e) => e.match(/\b(?:autoglm|process|nodejs)_[a-z0-9_]+\b/g) ?? []))].sort();
}

/** Recorded series (`autoglm:…`) in PromQL expressions. */
function recordedNames(exprs: readonly string[]): string[] {
  return [...new Set(exprs.flatMap((e) => e.match(/\bautoglm:[a-z0-9_:]+/g) ?? []))].sort();
}

/** The series the recording rules define. */
function recordedSeries(): Set<string> {
  const rules = obj(parse(readFileSync(join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8')));
  return new Set(
    arr(rules.groups).flatMap((g) =>
      arr(obj(g).rules)
        .map((r) => obj(r).record)
        .filter((r): r is string => typeof r === 'string'),
    ),
  );
}

/** A histogram is exported under its base name (# TYPE); PromQL reads its _bucket, _sum and _count. */
const baseName = (metric: string): string => metric.replace(/_(bucket|sum|count)$/, '');

function alertExprs(): string[] {
  const rules = obj(parse(readFileSync(join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8')));
  return arr(rules.groups).flatMap((g) => arr(obj(g).rules).map((r) => String(obj(r).expr)));
}

function dashboard(): { panels: Array<{ title: string; targets: Array<{ expr: string }>; datasource: Obj }> } {
  const files = readdirSync(join(DEPLOY, 'grafana', 'dashboards')).filter((f) => f.endsWith('.json'));
  expect(files).toHaveLength(1);
  return JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'dashboards', files[0] ?? ''), 'utf8')) as ReturnType<
    typeof dashboard
  >;
}

const promtool = spawnSync('promtool', ['--version']).status === 0;

describe('deploy/kubernetes', () => {
  it('probes as documented (liveness 30 s / 10 s / 3, readiness /readyz) on the port the service listens on', () => {
    const { container } = deployment();
    const live = container.livenessProbe;
    expect(live).toMatchObject({ initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 3 });
    expect(obj(live.httpGet).path).toBe('/healthz');
    expect(obj(container.readinessProbe.httpGet).path).toBe('/readyz');
    const portNames = container.ports.map((p) => p.name);
    expect(portNames).toContain(obj(live.httpGet).port);
    expect(portNames).toContain(obj(container.readinessProbe.httpGet).port);
    const loaded = expectLoads(k8sEnv(container), 'Deployment');
    const http = container.ports.find((p) => p.name === 'http');
    expect(loaded.ok && loaded.value.server.port).toBe(http?.containerPort);
    // Reachable from other pods: a pod listening on 127.0.0.1 would pass nothing but its own probes' fate.
    expect(loaded.ok && loaded.value.server.host).toBe('0.0.0.0');
    expect(loaded.ok && loaded.value.database.kind).toBe('postgres');
    expect(Object.keys(container.resources.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
  });

  it('leaves SIGTERM time to drain: the grace period covers preStop, the HTTP wait and the job drain', () => {
    const { spec, container } = deployment();
    const preStop = arr(obj(obj(container.lifecycle.preStop).exec).command).map(String);
    expect(preStop[0]).toBe('sleep');
    const loaded = expectLoads(k8sEnv(container), 'Deployment');
    const httpWaitS = loaded.ok ? loaded.value.server.wait_for_completion_ms / 1000 : Infinity;
    // app.close() gives jobs in flight 10 s (its default deadline) after the HTTP server closed.
    expect(Number(spec.terminationGracePeriodSeconds)).toBeGreaterThanOrEqual(Number(preStop[1]) + httpWaitS + 10);
  });

  it('has an HPA (2–10, 70 % CPU), a PodDisruptionBudget and a NetworkPolicy on the same pods and port', () => {
    const objects = kubernetesObjects();
    const { labels, container } = deployment();
    const name = obj(one(objects, 'Deployment').metadata).name;
    const hpa = obj(one(objects, 'HorizontalPodAutoscaler').spec);
    expect(hpa).toMatchObject({ minReplicas: 2, maxReplicas: 10 });
    expect(obj(hpa.scaleTargetRef)).toMatchObject({ kind: 'Deployment', name });
    expect(arr(hpa.metrics)).toContainEqual({
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
    });
    const pdb = obj(one(objects, 'PodDisruptionBudget').spec);
    expect(obj(obj(pdb.selector).matchLabels)).toEqual(labels);
    expect(Number(pdb.minAvailable)).toBeGreaterThanOrEqual(1);
    const policy = obj(one(objects, 'NetworkPolicy').spec);
    expect(obj(obj(policy.podSelector).matchLabels)).toEqual(labels);
    expect(arr(policy.policyTypes)).toEqual(['Ingress', 'Egress']);
    const ingressPorts = arr(policy.ingress).flatMap((r) => arr(obj(r).ports).map((p) => obj(p).port));
    expect(ingressPorts).toEqual(container.ports.map((p) => p.containerPort));
    const egressPorts = arr(policy.egress).flatMap((r) => arr(obj(r).ports).map((p) => obj(p).port));
    for (const port of [53, 5432, 6379, 443]) expect(egressPorts).toContain(port);
    const service = obj(one(objects, 'Service').spec);
    expect(obj(service.selector)).toEqual(labels);
    expect(arr(service.ports).map((p) => obj(p).targetPort)).toEqual(['http']);
  });
});

describe('Dockerfile and deploy/compose.yaml', () => {
  it('builds in stages and runs as a non-root user without dev dependencies, checking /healthz', () => {
    const stages = dockerStages();
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const final = stages.at(-1)?.lines ?? [];
    const user = final.filter(([op]) => op === 'USER').at(-1)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    // Dependencies of the runtime come from a stage that installed production ones only.
    const copiedModules = final.find(([op, args]) => op === 'COPY' && /node_modules/.test(args))?.[1] ?? '';
    const from = /--from=(\S+)/.exec(copiedModules)?.[1];
    const source = stages.find((s) => new RegExp(`\\bAS\\s+${from ?? '-'}$`, 'i').test(s.from));
    expect(source?.lines.some(([op, args]) => op === 'RUN' && /npm ci\b.*--omit=dev/.test(args))).toBe(true);
    expect(final.some(([op, args]) => op === 'RUN' && /npm (ci|install)\b/.test(args))).toBe(false);
    const env = Object.fromEntries(
      final
        .filter(([op]) => op === 'ENV')
        .flatMap(([, args]) => [...args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1] ?? '', m[2] ?? ''])),
    );
    const loaded = expectLoads(env, 'Dockerfile');
    expect(final.find(([op]) => op === 'EXPOSE')?.[1]).toBe(String(loaded.ok && loaded.value.server.port));
    expect(final.find(([op]) => op === 'HEALTHCHECK')?.[1]).toMatch(/\/healthz/);
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n');
    for (const entry of ['node_modules', 'data', '.env', '.git']) expect(ignored).toContain(entry);
  });

  it('runs three instances on PostgreSQL and Redis, scraped by Prometheus on the port they listen on', () => {
    const services = composeServices();
    for (const s of ['postgres', 'redis', 'prometheus', 'grafana']) expect(services[s], s).toBeDefined();
    const instances = Object.keys(services).filter((s) => /^autoglm-\d$/.test(s));
    expect(instances).toHaveLength(3);
    const prometheus = obj(parse(readFileSync(join(DEPLOY, 'prometheus', 'prometheus.yml'), 'utf8')));
    const job = obj(arr(prometheus.scrape_configs).find((j) => obj(j).job_name === 'autoglm'));
    expect(job.metrics_path).toBe('/metrics');
    const targets = arr(job.static_configs).flatMap((c) => arr(obj(c).targets));
    for (const name of [...instances, 'keys']) {
      const loaded = expectLoads(serviceEnv(services[name]), `compose ${name}`);
      expect(loaded.ok && loaded.value.database.kind).toBe('postgres');
      if (name === 'keys') continue;
      const port = loaded.ok ? loaded.value.server.port : -1;
      expect(targets).toContain(`${name}:${port}`);
      expect(arr(services[name]?.ports).map((p) => String(p).split(':').at(-1))).toEqual([String(port)]);
    }
    // Grafana reads the dashboard from the provisioned data source.
    const datasource = obj(
      arr(
        obj(parse(readFileSync(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8')))
          .datasources,
      )[0],
    );
    for (const p of dashboard().panels) expect(p.datasource.uid, p.title).toBe(datasource.uid);
  });
});

describe.skipIf(!promtool && process.env.CI === undefined)('deploy/prometheus alert rules (promtool)', () => {
  it('pass `promtool check rules` and their unit tests (`promtool test rules`)', () => {
    const check = spawnSync('promtool', ['check', 'rules', join(DEPLOY, 'prometheus', 'alerts.yml')], {
      encoding: 'utf8',
    });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const test = spawnSync('promtool', ['test', 'rules', join(DEPLOY, 'prometheus', 'alerts.test.yml')], {
      encoding: 'utf8',
    });
    expect(test.status, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toMatch(/SUCCESS/);
    for (const needed of [
      'AutoglmInstanceDown',
      'AutoglmPaymentGatewayBreakerOpen',
      'AutoglmPaymentSuccessRateDrop',
      'AutoglmJobQueueBacklog',
      'AutoglmLedgerImbalance',
      'AutoglmReviewFlagsRaised',
      'AutoglmPaymentOutcomeSuccessRateDrop',
      'AutoglmHttpErrorRateSpike',
      'AutoglmReconciliationNotClean',
    ])
      expect(readFileSync(join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8')).toContain(`alert: ${needed}\n`);
  });
});

describe('the running service answers what the deployment files name', () => {
  it('probe paths, /metrics with every metric a rule or panel uses, and a clean exit on SIGTERM', async () => {
    const { container, spec } = deployment();
    const db = tempDbPath();
    // The manifest's own environment, on a local SQLite file and a free loopback port.
    const env = localServiceEnv(k8sEnv(container), db);
    const { child, url, output } = await spawnUntil('test/support/serve-child.ts', [], env, 'service');
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      child.once('exit', (code) => resolve({ code, at: performance.now() })),
    );
    try {
      const paths = new Set<string>([
        String(obj(container.livenessProbe.httpGet).path),
        String(obj(container.readinessProbe.httpGet).path),
        /\/\w+z\b/.exec(readFileSync('Dockerfile', 'utf8').split('HEALTHCHECK')[1] ?? '')?.[0] ?? '/missing',
        '/metrics',
      ]);
      for (const path of paths) {
        const res = await fetch(`${url}${path}`);
        expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
      }
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const exported = new Set([...metrics.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
      const exprs = [...alertExprs(), ...dashboard().panels.flatMap((p) => p.targets.map((t) => t.expr))];
      const used = metricNames(exprs);
      expect(used.length).toBeGreaterThan(10);
      expect(used.filter((m) => !exported.has(m) && !exported.has(baseName(m)))).toEqual([]);
      // Every recorded series an alert or a panel reads is defined by a recording rule.
      const recorded = recordedSeries();
      expect(recordedNames(exprs).length).toBeGreaterThan(0);
      expect(recordedNames(exprs).filter((r) => !recorded.has(r))).toEqual([]);
    } finally {
      const signalled = performance.now();
      child.kill('SIGTERM');
      const { code, at } = await exited;
      expect(code, output()).toBe(0);
      expect((at - signalled) / 1000).toBeLessThan(Number(spec.terminationGracePeriodSeconds));
    }
    expect(existsSync(db)).toBe(true);
  }, 60_000);
});

describe('deploy/compose.yaml: one outside world for the three instances', () => {
  it('every instance pays, orders and tops up through the one simulator service, as configured', async () => {
    const services = composeServices();
    const sim = services.simulator;
    expect(sim, 'a simulator service').toBeDefined();
    const script = String(arr(sim?.command)[0]);
    // The simulator's own command: the secret files it writes, then `autoglm simulator …`.
    const [setup = '', run = ''] = script.split(/&&\s*exec\s+/);
    const port = Number(/--port\s+(\d+)/.exec(run)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(arr(sim?.ports).map((p) => String(p).split(':').at(-1))).toEqual([String(port)]);
    const dir = mkdtempSync(join(tmpdir(), 'autoglm-compose-sim-'));
    const local = (text: string): string => text.replaceAll('/app/data', dir).replaceAll('$$', '$');
    const simEnv = { ...process.env, ...serviceEnv(sim) };
    const made = spawnSync('sh', ['-c', local(setup)], { env: simEnv, encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const simArgs = local(run)
      .replace(/^node bin\/autoglm\.js simulator\s+/, '')
      .split(/\s+/)
      .map((a) => (a === String(port) ? '0' : a));
    const simulator = await spawnUntil('test/support/simulator-child.ts', simArgs, simEnv, 'simulator');
    const db = tempDbPath();
    try {
      for (const name of Object.keys(services).filter((n) => /^autoglm-\d$/.test(n))) {
        const env = Object.fromEntries(
          Object.entries(obj(services[name]?.environment)).map(([k, v]) => [k, String(v)]),
        );
        const loaded = expectLoads(env, `compose ${name}`);
        if (!loaded.ok) continue;
        // No embedded simulator: a world of each instance's own.
        const gateways = Object.values(loaded.value.gateways).map((g) => g.type);
        expect(gateways).toEqual(['simulator-http']);
        expect(loaded.value.merchant.type).toBe('http');
        const channels = Object.values(loaded.value.recharge.channels);
        expect(channels.map((c) => c.type)).toEqual(['juhe']);
        for (const u of [
          ...Object.values(loaded.value.gateways).map((g) => (g as { base_url: string }).base_url),
          (loaded.value.merchant as { base_url: string }).base_url,
          ...channels.map((c) => (c as { base_url: string }).base_url),
        ])
          expect(new URL(u).host).toBe(`simulator:${port}`);
      }
      // One instance, with compose's environment, against the simulator compose starts.
      const composeEnv = Object.fromEntries(
        Object.entries(serviceEnv(services['autoglm-1'])).map(([k, v]) => [
          k,
          v.replaceAll(`http://simulator:${port}`, simulator.url),
        ]),
      );
      const env = {
        ...localServiceEnv(composeEnv, db),
        AUTOGLM_AUTO_CONFIRM_ORDER: 'true',
        AUTOGLM_TRUSTED_ACTIONS: 'order_coffee,submit_payment,recharge_phone,wallet_top_up',
      };
      const service = await spawnUntil('test/support/serve-child.ts', [], env, 'service');
      try {
        const headers = {
          'content-type': 'application/json',
          authorization: `Bearer ${readFileSync(`${db}.admin-key`, 'utf8').trim()}`,
          'x-act-for': 'alice',
        };
        const post = async (path: string, body: unknown, key: string): Promise<Record<string, unknown>> => {
          const r = await fetch(`${service.url}${path}`, {
            method: 'POST',
            headers: { ...headers, 'idempotency-key': key },
            body: JSON.stringify(body),
          });
          const text = await r.text();
          expect(r.status, `${path}: ${text}`).toBe(201);
          return JSON.parse(text) as Record<string, unknown>;
        };
        const order = obj((await post('/api/v1/order', { drink: 'latte', size: 'medium' }, 'o1')).order);
        await post('/api/v1/wallet/top-ups', { amount: 5000 }, 't1');
        const recharge = obj((await post('/api/v1/recharges', { phone: '13800138000', amount: 1000 }, 'r1')).recharge);
        const status = async (path: string, field: string): Promise<string> => {
          for (let i = 0; i < 200; i++) {
            const r = obj(await (await fetch(`${service.url}${path}`, { headers })).json());
            const v = String(obj(r[field]).status);
            if (['COMPLETED', 'SUCCEEDED', 'FAILED', 'CANCELLED'].includes(v)) return v;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          return 'unfinished';
        };
        expect(await status(`/api/v1/orders/${String(order.id)}`, 'order')).toBe('COMPLETED');
        expect(await status(`/api/v1/recharges/${String(recharge.id)}`, 'recharge')).toBe('SUCCEEDED');
        // The simulator's ground truth: it charged the order and made the drink, and topped the phone up.
        const truth = obj(await (await fetch(`${simulator.url}/_sim/ground-truth`)).json());
        expect(arr(truth.events).filter((e) => obj(e).type === 'capture').length).toBe(2);
        expect(arr(truth.fulfilments)).toHaveLength(1);
        const phones = obj(await (await fetch(`${simulator.url}/_sim/recharge-ground-truth`)).json());
        expect(arr(phones.events).map((e) => obj(e).phone)).toEqual(['13800138000']);
      } finally {
        service.child.kill('SIGTERM');
      }
    } finally {
      simulator.child.kill('SIGTERM');
    }
  }, 60_000);
});
