// What every browser test file starts with: its own parleyd (on a free port, with a fresh data
// directory), Debian's Chromium, a REST client, and the users it needs registered over REST.
// Called with a top-level await; stops the browser and the server after the file's tests.
import { after } from 'node:test';
import { Api } from './api.mjs';
import { launchBrowser } from './browser.mjs';
import { Parleyd } from './parleyd.mjs';

/**
 * `people`: [username, display name] pairs to register (users[username] is what register
 * returned: token, user, …); `args`: extra parleyd arguments.
 */
export async function startSuite({ people = [], args = [] } = {}) {
  const server = await Parleyd.launch(args);
  const browser = await launchBrowser();
  after(async () => {
    await browser.close();
    await server.dispose();
  });
  const api = new Api(server.base);
  const users = {};
  for (const [name, display] of people) users[name] = await api.register(name, display);
  return { server, browser, api, users };
}
