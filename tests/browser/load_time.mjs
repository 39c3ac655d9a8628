// How long headless chromium takes to load and draw a flare view page
// (navigation start until the flame graph and timeline are drawn), for
// scripts/bench-view. Usage: node load_time.mjs PAGE.html [RUNS]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {launchChromium} from './chromium.mjs';

const [file, runsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node load_time.mjs PAGE.html [RUNS]');
  process.exit(2);
}
const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flare-chromium-'));
const browser = await launchChromium(profileDir);
const times = [];
try {
  for (let i = 0; i < Number(runsArg || 3); i++) {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const started = Date.now();
    await page.goto('file://' + path.resolve(file));
    await page.waitForFunction(() => window.flare !== undefined);
    // One more frame, so the layout of what the script drew is included.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    times.push(Date.now() - started);
    const frames = await page.$$eval('#flame .frame', (els) => els.length);
    if (errors.length) throw new Error(errors.join(' | '));
    if (i === 0) console.log(`frames drawn: ${frames}`);
    await page.close();
  }
} finally {
  await browser.close();
  fs.rmSync(profileDir, {recursive: true, force: true});
}
times.sort((a, b) => a - b);
console.log(`load+draw ms: ${times.join(' ')} (median ${times[Math.floor(times.length / 2)]})`);
