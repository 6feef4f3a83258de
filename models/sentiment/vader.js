// VADER baseline for models/sentiment/baselines.py: reads one text per line from the
// file argv[3], writes "label<TAB>compound" per line to stdout (label 1 when the
// compound score is >= 0, else 0: a text without sentiment words counts as positive)
// and {"items", "seconds"} for the scoring loop alone (file reading and module loading
// excluded) to stderr.
// usage: node vader.js NPM_PREFIX INPUT.txt   (NPM_PREFIX holds node_modules/vader-sentiment)
'use strict';
const fs = require('fs');
const path = require('path');

if (process.argv.length !== 4) {
  process.stderr.write('usage: node vader.js NPM_PREFIX INPUT.txt\n');
  process.exit(2);
}
const vader = require(path.join(path.resolve(process.argv[2]), 'node_modules', 'vader-sentiment'));
const lines = fs.readFileSync(process.argv[3], 'utf8').split('\n');
if (lines.length && lines[lines.length - 1] === '') lines.pop();

const out = new Array(lines.length);
const t0 = process.hrtime.bigint();
for (let i = 0; i < lines.length; i++) {
  const c = vader.SentimentIntensityAnalyzer.polarity_scores(lines[i]).compound;
  out[i] = (c >= 0 ? 1 : 0) + '\t' + c;
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
process.stderr.write(JSON.stringify({ items: lines.length, seconds }) + '\n');
