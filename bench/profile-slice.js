// Cut a --cpu-prof profile of a bench:batch server to the samples taken while the batch went from
// FROM to TO rows answered (BENCH_PROGRESS's samples share the profile's clock), e.g. to compare
// the first and the last 10,000 rows of a 100,000-row run with bench/profile-summary.js.
//
//   node bench/profile-slice.js CPU.cpuprofile progress.json 90000 100000 late.cpuprofile
import { readFileSync, writeFileSync } from 'node:fs';

const [file, progressFile, from, to, out] = process.argv.slice(2);
if (out === undefined) {
  process.stderr.write('usage: node bench/profile-slice.js FILE.cpuprofile PROGRESS.json FROM TO OUT.cpuprofile\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const progress = JSON.parse(readFileSync(progressFile, 'utf8'));
const at = (rows) => (progress.find((s) => s.finished >= rows) ?? progress.at(-1)).at;
const [start, end] = [at(Number(from)), at(Number(to))];
const samples = [];
const timeDeltas = [];
let t = profile.startTime;
profile.samples.forEach((id, i) => {
  t += profile.timeDeltas[i];
  if (t >= start && t < end) {
    samples.push(id);
    timeDeltas.push(profile.timeDeltas[i]);
  }
});
if (samples.length === 0)
  throw new Error('no sample in that stretch: was the profile taken in the same run as the progress?');
writeFileSync(out, JSON.stringify({ ...profile, samples, timeDeltas, startTime: start, endTime: end }));
console.log(`${((end - start) / 1e6).toFixed(1)} s, ${samples.length} samples → ${out}`);
