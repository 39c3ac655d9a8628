// flare view in a real browser: records the bundled workloads with real BPF
// (root), writes their pages and drives them in Debian's headless chromium
// through playwright-core, checking what is drawn against the workloads'
// known truth. Screenshots go to the output directory as test artifacts.
//
// Usage (ctest passes these): node view_test.mjs FLARE FP_CHAINS PHASES OFFCPU_CHAINS OUTDIR
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {launchChromium} from './chromium.mjs';

const [flare, fpChains, phases, offcpuChains, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node view_test.mjs FLARE FP_CHAINS PHASES OFFCPU_CHAINS OUTDIR');
  process.exit(2);
}
if (process.getuid() !== 0) {
  console.error('view_test: needs root (it records with real BPF); run it as root');
  process.exit(1);
}
fs.rmSync(outDir, {recursive: true, force: true});
fs.mkdirSync(outDir, {recursive: true});

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

function run(args) {
  console.log('$ ' + args.join(' '));
  execFileSync(args[0], args.slice(1), {stdio: ['ignore', 'inherit', 'inherit']});
}

// ---- recordings -----------------------------------------------------------

const splitRec = path.join(outDir, 'split.flare');
const phasesRec = path.join(outDir, 'phases.flare');
run([flare, 'record', '-F', '99', '-o', splitRec, '--', fpChains, '--seconds', '4', '--high-priority']);
run([flare, 'record', '-F', '99', '--events', 'cpu,offcpu', '-o', phasesRec, '--', phases, '--phase-ms', '1000']);
// offcpu_chains: writer wakes reader through a pipe every 30 ms.
const wakeRec = path.join(outDir, 'wakeups.flare');
run([flare, 'record', '-F', '99', '--events', 'cpu,offcpu', '-o', wakeRec, '--', offcpuChains, '--seconds', '1.5']);
const wakeHtml = path.join(outDir, 'wakeups.html');
run([flare, 'view', wakeRec, '-o', wakeHtml]);
const splitHtml = path.join(outDir, 'split.html');
const phasesHtml = path.join(outDir, 'phases.html');
const diffHtml = path.join(outDir, 'diff.html');
run([flare, 'view', splitRec, '-o', splitHtml]);
run([flare, 'view', phasesRec, '-o', phasesHtml]);
run([flare, 'view', '--diff', phasesRec, splitRec, '-o', diffHtml]);

// Bad input: one error line, exit 1 (runtime) or 2 (usage), no file left.
function exitOf(args) {
  try {
    execFileSync(args[0], args.slice(1), {stdio: ['ignore', 'ignore', 'pipe']});
    return {code: 0, stderr: ''};
  } catch (e) {
    return {code: e.status, stderr: String(e.stderr)};
  }
}
{
  const out = path.join(outDir, 'never.html');
  const missing = exitOf([flare, 'view', path.join(outDir, 'missing.flare'), '-o', out]);
  check(missing.code === 1 && missing.stderr.trim().split('\n').length === 1 && !fs.existsSync(out),
        `missing recording: exit 1, one line, no page (${missing.code}: ${missing.stderr.trim()})`);
  const usage = exitOf([flare, 'view', splitRec, '--diff', splitRec, phasesRec, '-o', out]);
  check(usage.code === 2 && !fs.existsSync(out), `FILE with --diff: usage error (${usage.code})`);
  const noOffcpu = exitOf([flare, 'view', '--diff', splitRec, phasesRec, '--type', 'offcpu', '-o', out]);
  check(noOffcpu.code === 1 && /offcpu|off-CPU/.test(noOffcpu.stderr) && !fs.existsSync(out),
        `--diff --type offcpu of a cpu-only base is refused (${noOffcpu.stderr.trim()})`);
}

// ---- browser --------------------------------------------------------------

const profileDir = fs.mkdtempSync(path.join(outDir, 'chromium-profile-'));
const browser = await launchChromium(profileDir);

async function open(file) {
  const page = await browser.newPage();
  const errors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
  const started = Date.now();
  await page.goto('file://' + path.resolve(file));
  await page.waitForFunction(() => window.flare !== undefined);
  const loadMs = Date.now() - started;
  return {page, errors, requests, loadMs};
}

// Summed rendered width of the frames named `name`.
async function widthOf(page, name) {
  return page.$$eval('#flame .frame', (els, n) =>
    els.filter((e) => e.dataset.name === n).reduce((s, e) => s + e.getBoundingClientRect().width, 0), name);
}

async function names(page) {
  return page.$$eval('#flame .frame', (els) => els.map((e) => e.dataset.name));
}

try {
  // 1. Known 3:1 split: worker_a burns 0.75 CPU, worker_b 0.25 (fp_chains.c).
  {
    const {page, errors, requests, loadMs} = await open(splitHtml);
    console.log(`split.html: ${fs.statSync(splitHtml).size} bytes, loaded in ${loadMs} ms`);
    await page.screenshot({path: path.join(outDir, 'split-loaded.png'), fullPage: true});
    const a = await widthOf(page, 'a_spin_leaf');
    const b = await widthOf(page, 'b_spin_leaf');
    console.log(`a_spin_leaf ${a.toFixed(1)} px, b_spin_leaf ${b.toFixed(1)} px, ratio ${(a / b).toFixed(3)}`);
    // 4 s at 99 Hz: ~300 and ~100 samples; +-20 % covers sampling noise.
    check(b > 0 && a / b > 2.4 && a / b < 3.75, `a_spin_leaf : b_spin_leaf widths are 3:1 (got ${(a / b).toFixed(2)})`);

    // Click zooms: thread_b_entry then spans the whole graph.
    const full = await page.$eval('#flame', (e) => e.clientWidth);
    await page.click('#flame .frame[data-name="thread_b_entry"]');
    const zoomed = await page.$eval('#flame .frame[data-name="thread_b_entry"]', (e) => e.getBoundingClientRect().width);
    const crumbs = await page.$eval('#breadcrumbs', (e) => e.textContent);
    check(Math.abs(zoomed - full) < 2, `click zooms thread_b_entry to the full width (${zoomed.toFixed(0)} of ${full} px)`);
    check(crumbs.includes('thread_b_entry'), `breadcrumbs show the zoomed frame (${crumbs})`);
    check((await names(page)).every((n) => n !== 'a_spin_leaf'), 'zoomed graph has no worker_a frames');
    await page.screenshot({path: path.join(outDir, 'split-zoomed.png'), fullPage: true});
    await page.click('#breadcrumbs a');  // back to "all"

    // Search highlights the matches and reports their share (about 75 %).
    await page.fill('#search', 'a_spin');
    const highlighted = await page.$$eval('#flame .frame.match', (els) => els.map((e) => e.dataset.name));
    const share = Number(await page.$eval('#matches', (e) => e.dataset.share));
    check(highlighted.length > 0 && highlighted.every((n) => n.includes('a_spin')), `search highlights only matches (${highlighted})`);
    check(share > 0.68 && share < 0.82, `search shows the matches' share (${(100 * share).toFixed(1)} %)`);
    await page.screenshot({path: path.join(outDir, 'split-search.png'), fullPage: true});
    await page.fill('#search', '');

    // Callers mode: the leaves become the top level.
    await page.check('#callers');
    const topLevel = await page.$$eval('#flame .frame', (els) =>
      els.filter((e) => e.style.top === '17px').map((e) => e.dataset.name));
    check(topLevel.includes('a_spin_leaf') && topLevel.includes('b_spin_leaf'), 'callers mode puts the leaves at the top level');
    await page.uncheck('#callers');

    // Thread filter: worker_b alone.
    const workerB = await page.$eval('#thread', (s) => [...s.options].find((o) => o.text.startsWith('worker_b')).value);
    await page.selectOption('#thread', workerB);
    const filtered = await names(page);
    check(filtered.includes('b_spin_leaf') && !filtered.includes('a_spin_leaf'), 'thread filter leaves only worker_b');

    // Tooltip: self/total with percentages.
    await page.selectOption('#thread', '0');
    await page.hover('#flame .frame[data-name="b_spin_leaf"]');
    const tip = await page.$eval('#tooltip', (e) => e.textContent);
    check(/total: .*% of all/.test(tip) && /self: /.test(tip), 'tooltip shows total and self with percentages');
    check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
    check(requests.length === 0, `no network requests (${requests.join(' ')})`);
    await page.close();
  }

  // 2. Phase f1 then phase f2: a range inside the first second leaves only f1.
  {
    const {page, errors} = await open(phasesHtml);
    const all = await names(page);
    check(all.includes('f1_spin_leaf') && all.includes('f2_spin_leaf'), 'whole capture shows both phases');
    const views = await page.$$eval('#views button', (els) => els.map((e) => e.dataset.view));
    check(['cpu', 'offcpu', 'wall'].every((v) => views.includes(v)), `views present: ${views}`);
    const box = await page.$eval('#timeline', (e) => { const r = e.getBoundingClientRect(); return {x: r.left, y: r.top, h: r.height}; });
    const x0 = await page.evaluate(() => window.flare.timeToX(0.2e9));
    const x1 = await page.evaluate(() => window.flare.timeToX(0.8e9));
    await page.mouse.move(box.x + x0, box.y + box.h / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + (x0 + x1) / 2, box.y + box.h / 2);
    await page.mouse.move(box.x + x1, box.y + box.h / 2);
    await page.mouse.up();
    const inRange = await names(page);
    check(inRange.includes('f1_spin_leaf') && !inRange.includes('f2_spin_leaf') && !inRange.includes('phase_f2'),
          'selecting 0.2-0.8 s leaves only phase f1');
    await page.screenshot({path: path.join(outDir, 'phases-range.png'), fullPage: true});

    // Off-CPU: only phase f2 sleeps (nanosleep); phase f1 is at most
    // preempted. Off-CPU stacks are walked by frame pointers, which end in
    // libc's clock_nanosleep (built without them), so the stack shows
    // main -> clock_nanosleep rather than phase_f2.
    await page.click('#views button[data-view="offcpu"]');
    const offInF1 = await names(page);
    check(!offInF1.some((n) => n.includes('nanosleep')), 'offcpu view of phase f1\'s range has no sleeps');
    await page.click('#clear-range');
    const off = await names(page);
    check(off.some((n) => n.includes('nanosleep')), 'offcpu view of the whole capture has phase f2\'s sleeps');
    const spanStart = await page.evaluate(() => {
      const o = window.flare.data.timeline.offcpu;
      const i = o.blocked.findIndex((b, k) => b > 5e6 && o.start[k] > 1.2e9 && o.state[k] === 1);
      return i < 0 ? -1 : o.start[i] + o.blocked[i] / 2;
    });
    check(spanStart > 0, 'the timeline has phase f2 sleeping intervals');
    if (spanStart > 0) {
      const x = await page.evaluate((t) => window.flare.timeToX(t), spanStart);
      await page.mouse.move(box.x + x, box.y + 8);
      const tip = await page.$eval('#tooltip', (e) => e.textContent);
      check(tip.includes('sleeping') && tip.includes('nanosleep') && tip.includes('blocked in'),
            `hovering an interval shows its state and blocked stack (${tip.split('\n').slice(0, 4).join(' / ')})`);
      await page.screenshot({path: path.join(outDir, 'phases-offcpu.png'), fullPage: true});
    }
    check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
    await page.close();
  }

  // 3. Wake-ups: the reader's blocked reads end when the writer writes.
  {
    const {page, errors} = await open(wakeHtml);
    const link = await page.evaluate(() => {
      const d = window.flare.data;
      const tidOf = (name) => (d.threads.find((t) => t.name === name) || {}).tid;
      const reader = tidOf('reader'), writer = tidOf('writer');
      const o = d.timeline.offcpu;
      const i = o.tid.findIndex((t, k) => t === reader && o.wakerTid[k] === writer && o.blocked[k] > 5e6);
      if (i < 0) return null;
      return {wake: o.start[i] + o.blocked[i], mid: o.start[i] + o.blocked[i] / 2,
              readerRow: window.flare.rowOf(reader), writerRow: window.flare.rowOf(writer), rowHeight: window.flare.rowHeight};
    });
    check(link !== null, 'a reader interval woken by the writer is in the timeline');
    if (link) {
      const box = await page.$eval('#timeline', (e) => { const r = e.getBoundingClientRect(); return {x: r.left, y: r.top}; });
      const x = await page.evaluate((t) => window.flare.timeToX(t), link.mid);
      await page.mouse.move(box.x + x, box.y + (link.readerRow + 0.5) * link.rowHeight);
      const tip = await page.$eval('#tooltip', (e) => e.textContent);
      check(tip.includes('woken by writer') && tip.includes('writer_notify') && tip.includes('reader_wait'),
            `hovering the reader's wait shows its stack and the writer's (${tip.split('\n').slice(0, 2).join(' / ')})`);
      // The link: a purple stroke between the two rows at the wakeup.
      const purple = await page.evaluate(({wake, readerRow, writerRow, rowHeight}) => {
        const c = document.getElementById('timeline');
        const g = c.getContext('2d');
        const ratio = c.width / c.getBoundingClientRect().width;
        const x = Math.round(window.flare.timeToX(wake) * ratio);
        const y0 = Math.min(readerRow, writerRow) * rowHeight + rowHeight / 2, y1 = Math.max(readerRow, writerRow) * rowHeight + rowHeight / 2;
        const px = g.getImageData(x - 2, Math.round(y0 * ratio), 5, Math.round((y1 - y0) * ratio)).data;
        let hits = 0;
        for (let i = 0; i < px.length; i += 4) if (px[i] > 80 && px[i + 1] < 80 && px[i + 2] > 110) hits++;
        return hits;
      }, link);
      check(purple > 0, `a wake-up link is drawn from writer to reader (${purple} link pixels)`);
      await page.screenshot({path: path.join(outDir, 'wakeups.png'), fullPage: true});
    }
    check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
    await page.close();
  }

  // 4. Differential page: phases (base) against the 3:1 split (new).
  {
    const {page, errors} = await open(diffHtml);
    const all = await names(page);
    check(all.includes('a_spin_leaf') && !all.includes('f1_spin_leaf'), 'diff is drawn with the new recording\'s frames');
    const grew = await page.$$eval('#flame .frame[data-name="a_spin_leaf"]', (els) => {
      const widest = els.reduce((w, e) => (e.getBoundingClientRect().width > w.getBoundingClientRect().width ? e : w));
      return getComputedStyle(widest).backgroundColor;
    });
    check(/^rgb\((\d+), (\d+), (\d+)\)$/.test(grew) && (() => { const [r, g, b] = grew.match(/\d+/g).map(Number); return r > 200 && g < 120 && b < 120; })(),
          `a_spin_leaf (75 % of NEW, absent from BASE) is deep red (${grew})`);
    await page.screenshot({path: path.join(outDir, 'diff.png'), fullPage: true});
    check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
    await page.close();
  }
} finally {
  await browser.close();
  fs.rmSync(profileDir, {recursive: true, force: true});
}

console.log(failures === 0 ? 'all browser checks passed' : `${failures} browser check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
