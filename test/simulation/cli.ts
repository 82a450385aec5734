import { performance } from 'node:perf_hooks';
import { runSeed } from './run-seed.js';

/**
 * `npm run simulate -- --seed S` replays one seed (and prints its trace with `--trace`);
 * `npm run simulate -- --seeds N [--from F]` runs N seeds from F (default: a random start) with a
 * progress line and a summary. Exits 1 when any seed failed, after printing how to replay it.
 */
async function main(argv: readonly string[]): Promise<number> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const steps = arg('--steps') === undefined ? undefined : Number(arg('--steps'));
  const opts = {
    ...(steps === undefined ? {} : { steps }),
    keepDb: argv.includes('--keep-db'),
  };
  const one = arg('--seed');
  if (one !== undefined) {
    const r = await runSeed(Number(one), opts);
    if (argv.includes('--trace') || !r.ok)
      console.log((argv.includes('--trace') ? r.trace : r.trace.slice(-40)).join('\n'));
    console.log(
      `seed ${r.seed}: ${r.ok ? 'ok' : 'FAILED'}  trace ${r.traceHash.slice(0, 16)}  ${JSON.stringify(r.stats)}`,
    );
    if (!r.ok) {
      for (const f of r.failures) console.log(`  ${f}`);
      console.log(`  database: ${r.dbPath}\n  replay: npm run simulate -- --seed ${r.seed} --trace`);
    }
    return r.ok ? 0 : 1;
  }
  const count = Number(arg('--seeds') ?? 100);
  const from = Number(arg('--from') ?? Math.floor(Math.random() * 1_000_000_000));
  const began = performance.now();
  const failed: number[] = [];
  for (let i = 0; i < count; i++) {
    const seed = from + i;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const r = await runSeed(seed, opts);
    if (process.env.VOPR_TIMING !== undefined) {
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = ((cpu.user + cpu.system) / 1000).toFixed(0);
      console.log(
        `seed ${seed}: ${(performance.now() - t0).toFixed(0)} ms, cpu ${cpuMs} ms ${JSON.stringify(r.stats)}`,
      );
    }
    if (!r.ok) {
      failed.push(seed);
      console.log(`\nseed ${seed} FAILED:`);
      for (const f of r.failures) console.log(`  ${f}`);
      console.log(
        r.trace
          .slice(-20)
          .map((l) => `    ${l}`)
          .join('\n'),
      );
      console.log(`  replay: npm run simulate -- --seed ${seed} --trace`);
    }
    const s = (performance.now() - began) / 1000;
    if (process.stdout.isTTY)
      process.stdout.write(`\r${i + 1}/${count} seeds, ${failed.length} failed, ${s.toFixed(0)} s`);
    else if ((i + 1) % 50 === 0 || i + 1 === count)
      console.log(`${i + 1}/${count} seeds, ${failed.length} failed, ${s.toFixed(0)} s`);
  }
  const secs = (performance.now() - began) / 1000;
  console.log(
    `\nsimulation: ${count} seeds (${from}..${from + count - 1}), ${failed.length} failed, ${secs.toFixed(1)} s` +
      (failed.length > 0 ? `; failing seeds: ${failed.join(' ')}` : ''),
  );
  return failed.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(2);
  },
);
