// Debian's Chromium, driven by playwright-core (no browser download). Every page gets an error
// watcher: the tests end by asserting that no console error and no uncaught exception happened.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const SCREENSHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Launches Chromium; Playwright gives each launch a fresh temporary user-data directory. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Collects console errors and page errors of a page. `allow(patterns)` tolerates matching
 * console errors until `allow([])`: the browser itself logs refused WebSocket connections as
 * errors while the server is down on purpose.
 */
export class ErrorWatch {
  constructor(page, label) {
    this.label = label;
    this.errors = [];
    this.allowed = [];
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = message.text();
      if (this.allowed.some((pattern) => pattern.test(text))) return;
      this.errors.push(`[${label}] console.error: ${text}`);
    });
    page.on('pageerror', (error) => this.errors.push(`[${label}] page error: ${error.message}`));
  }

  allow(patterns) {
    this.allowed = patterns;
  }
}

/** Network errors Chromium logs on the console while parleyd is stopped. */
export const OUTAGE_ERRORS = [/WebSocket connection to .* failed/, /Failed to load resource: net::ERR_CONNECTION_REFUSED/];

/** A new isolated context and page; returns { context, page, watch }. */
export async function openPage(browser, base, label, options = {}) {
  const context = await browser.newContext({
    baseURL: base,
    viewport: options.viewport ?? DESKTOP,
    deviceScaleFactor: 1,
    locale: 'en-GB',
    timezoneId: 'Europe/Amsterdam',
    colorScheme: options.colorScheme ?? 'light',
    // Only for injecting test tools (axe-core) that the page's strict policy would refuse.
    bypassCSP: options.bypassCSP ?? false,
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const watch = new ErrorWatch(page, label);
  return { context, page, watch };
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
