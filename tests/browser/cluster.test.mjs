// The web client against a 2-node cluster: Alice on node 1 and Bob on node 2 (each node's own
// address), Carol through HAProxy. Messages go both ways live between the nodes, and the
// client served through HAProxy (same origin: its WebSocket goes through HAProxy too) chats
// like any other.
import { after, before, test } from 'node:test';
import { assertNoErrors, openConversation, sendMessage, signUp, startDirectChat, waitForMessage } from './lib/app.mjs';
import { launchBrowser, openPage } from './lib/browser.mjs';
import { LocalCluster } from './lib/cluster.mjs';

let cluster;
let browser;

before(async () => {
  cluster = await LocalCluster.up(2);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await cluster?.down();
});

test('people on different nodes and behind HAProxy chat live', async () => {
  const alice = await openPage(browser, cluster.nodes[0], 'alice');
  const bob = await openPage(browser, cluster.nodes[1], 'bob');
  const carol = await openPage(browser, cluster.front, 'carol');
  await signUp(alice.page, 'alice', 'Alice Liddell');
  await signUp(bob.page, 'bob', 'Bob Stone');
  await signUp(carol.page, 'carol', 'Carol Danvers');

  await startDirectChat(alice.page, 'bob');
  await sendMessage(alice.page, 'Hello from node 1');
  await waitForMessage(alice.page, 'Hello from node 1', 'sent');
  await openConversation(bob.page, 'Alice Liddell');
  await waitForMessage(bob.page, 'Hello from node 1');
  await sendMessage(bob.page, 'And back from node 2');
  await waitForMessage(alice.page, 'And back from node 2');

  await startDirectChat(carol.page, 'alice');
  await sendMessage(carol.page, 'Through HAProxy');
  await waitForMessage(carol.page, 'Through HAProxy', 'sent');
  await openConversation(alice.page, 'Carol Danvers');
  await waitForMessage(alice.page, 'Through HAProxy');
  await sendMessage(alice.page, 'Got it, Carol');
  await waitForMessage(carol.page, 'Got it, Carol');

  assertNoErrors(alice.watch, bob.watch, carol.watch);
});
