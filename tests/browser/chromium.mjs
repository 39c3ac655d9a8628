// Debian's chromium, headless, through playwright-core: never a browser
// playwright would download. `profileDir` must be a fresh directory
// (playwright takes it itself; it refuses --user-data-dir in args).
import {chromium} from 'playwright-core';

export function launchChromium(profileDir) {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: {width: 1400, height: 900},
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
