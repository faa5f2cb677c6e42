// The client under the server's Content-Security-Policy, and without source maps. parleyd serves
// pages with a policy that allows no inline script or style and no eval; the built client
// (web/dist) must run under it unchanged: signing up, opening a chat, sending and receiving a
// message, a picture (its local thumbnail, inline preview, thumbnail and lightbox), the settings
// dialog. Every violation fires `securitypolicyviolation` (recorded from
// before the first script runs) and logs a console error; neither may happen. The build ships no
// *.map files and links none.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertNoErrors, openConversation, openSettings, sendMessage, signUp, startDirectChat, waitForMessage, waitForStrength,
} from './lib/app.mjs';
import { launchBrowser, openPage } from './lib/browser.mjs';
import { png } from './lib/media.mjs';
import { Parleyd, WEB_ROOT } from './lib/parleyd.mjs';

let server;
let browser;

before(async () => {
  server = await Parleyd.launch();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** A page that records every CSP violation and every console line that mentions the policy. */
async function watchedPage(label) {
  const opened = await openPage(browser, server.base, label);
  await opened.page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push({ directive: event.effectiveDirective, blocked: event.blockedURI, sample: event.sample });
    });
  });
  opened.cspConsole = [];
  opened.page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) opened.cspConsole.push(message.text());
  });
  return opened;
}

function violations(page) {
  return page.evaluate(() => window.__cspViolations);
}

test('the server sends a strict policy and the built client has nothing inline', async () => {
  const response = await fetch(`${server.base}/`);
  const policy = response.headers.get('content-security-policy') ?? '';
  for (const directive of ["script-src 'self'", "style-src 'self'", "default-src 'self'"]) {
    assert.ok(policy.includes(directive), `the policy has ${directive}: ${policy}`);
  }
  assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval/);

  const html = await response.text();
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length > 0, 'the page loads a script');
  for (const [, attributes, body] of scripts) {
    assert.match(attributes, /\bsrc="\/assets\/[^"]+\.js"/, 'scripts are files');
    assert.equal(body.trim(), '', 'no inline script');
  }
  assert.doesNotMatch(html, /<style\b/, 'no <style> element');
  assert.doesNotMatch(html, /\sstyle=/, 'no style attribute');
  assert.doesNotMatch(html, /\son[a-z]+=/, 'no inline event handler');
});

test('no source maps: none in web/dist, none linked, none served', async () => {
  const files = readdirSync(WEB_ROOT, { recursive: true }).map(String);
  assert.deepEqual(files.filter((file) => file.endsWith('.map')), [], 'no .map file in web/dist');
  const assets = files.filter((file) => /\.(js|css)$/.test(file));
  assert.ok(assets.some((file) => file.endsWith('.js')), `a script in ${files.join(', ')}`);
  for (const file of assets) {
    assert.doesNotMatch(readFileSync(path.join(WEB_ROOT, file), 'utf8'), /sourceMappingURL/, `${file} links no source map`);
    const url = `${server.base}/${file.split(path.sep).join('/')}`;
    assert.equal((await fetch(url)).status, 200, url);
    assert.equal((await fetch(`${url}.map`)).status, 404, `${url}.map`);
  }
});

test('signing up, chatting and the settings run without a single CSP violation', async () => {
  const alice = await watchedPage('alice');
  const bob = await watchedPage('bob');

  // Sign-up with the strength meter, a direct chat both ways, the settings with the device list
  // and the password form (a second meter).
  await signUp(alice.page, 'alice', 'Alice Liddell');
  await signUp(bob.page, 'bob', 'Bob Stone');
  await startDirectChat(alice.page, 'bob');
  await sendMessage(alice.page, 'Hello under a strict policy');
  await waitForMessage(alice.page, 'Hello under a strict policy');
  await openConversation(bob.page, 'Alice Liddell');
  await waitForMessage(bob.page, 'Hello under a strict policy');
  await sendMessage(bob.page, 'Nothing inline here');
  await waitForMessage(alice.page, 'Nothing inline here');
  // A picture (issue 14): the composer's thumbnail and the pending bubble from an object URL
  // (blob:), the event's preview (data:), the thumbnail and the full image in the lightbox from
  // parleyd (the local backend: same origin), the upload's PUT (connect-src).
  const chooser = alice.page.waitForEvent('filechooser');
  await alice.page.getByRole('button', { name: 'Attach files' }).click();
  await (await chooser).setFiles({ name: 'strict.png', mimeType: 'image/png', buffer: png(60, 40) });
  await alice.page.getByTestId('composer-file').locator('img').waitFor();
  await sendMessage(alice.page, 'A picture under the policy');
  await waitForMessage(bob.page, 'A picture under the policy');
  await bob.page.getByTestId('attachment-image').and(bob.page.locator('[data-loaded="true"]')).waitFor();
  assert.ok(await bob.page.locator('.media-tile__preview').evaluate((img) => img.src.startsWith('data:image/jpeg') && img.complete && img.naturalWidth > 0),
    'the inline preview (data:) is drawn');
  await bob.page.getByRole('button', { name: 'Open Photo strict.png' }).click();
  await bob.page.getByTestId('lightbox-image').and(bob.page.locator('[data-loaded="true"]')).waitFor();
  await bob.page.keyboard.press('Escape');
  const settings = await openSettings(alice.page);
  await settings.getByTestId('device').first().waitFor();
  await settings.getByRole('button', { name: 'Change password' }).click();
  await settings.getByLabel('New password', { exact: true }).fill('password123');
  await waitForStrength(settings, 'weak');
  await settings.getByRole('button', { name: 'Done' }).click();

  for (const { page, cspConsole, watch } of [alice, bob]) {
    assert.deepEqual(await violations(page), [], `${watch.label}: securitypolicyviolation events`);
    assert.deepEqual(cspConsole, [], `${watch.label}: CSP lines on the console`);
  }
  assertNoErrors(alice.watch, bob.watch);

  // The recorder works: an inline <style> and an inline <script> added now are refused and seen.
  await alice.page.evaluate(() => {
    const style = document.createElement('style');
    style.textContent = 'body { outline: 1px solid red; }';
    document.head.append(style);
    const script = document.createElement('script');
    script.textContent = 'window.__inlineRan = true;';
    document.body.append(script);
  });
  await alice.page.waitForFunction(() => window.__cspViolations.length >= 2);
  const seen = (await violations(alice.page)).map((violation) => violation.directive).sort();
  assert.deepEqual(seen, ['script-src-elem', 'style-src-elem']);
  assert.equal(await alice.page.evaluate(() => window.__inlineRan), undefined, 'the inline script did not run');

  await alice.context.close();
  await bob.context.close();
});
