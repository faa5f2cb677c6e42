// Starts s3rver (an S3 implementation Parley did not write; note that s3rver 3.7.1 does not
// check V4 signatures, only a pre-signed URL's expiry) on 127.0.0.1 with a bucket
// "parley-media", its files under DIRECTORY, and prints {"port": N} once it listens.
// Credentials: any (Parley's tests use access key "S3RVER", secret "S3RVER").
//
//   node s3rver.mjs DIRECTORY [--port P] [--lifetime S]
//
// --port: 0 (the default) picks a free one. --lifetime: exits after S seconds whatever happens
// (default 120, so a test that dies cannot leave it behind; 0 = until SIGTERM or SIGINT, for
// scripts/cluster.sh).
import S3rver from 's3rver';

const args = process.argv.slice(2);
const directory = args.shift();
const options = { port: 0, lifetime: 120 };
while (args.length > 0) {
  const name = args.shift();
  const value = Number(args.shift());
  if (!['--port', '--lifetime'].includes(name) || !Number.isInteger(value) || value < 0)
    throw new Error('usage: node s3rver.mjs DIRECTORY [--port P] [--lifetime S]');
  options[name.slice(2)] = value;
}
if (!directory) throw new Error('usage: node s3rver.mjs DIRECTORY [--port P] [--lifetime S]');
const server = new S3rver({
  address: '127.0.0.1',
  port: options.port,
  silent: true,
  directory,
  configureBuckets: [{ name: 'parley-media' }],
});
const { port } = await server.run();
process.stdout.write(JSON.stringify({ port }) + '\n');
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (options.lifetime > 0) setTimeout(stop, options.lifetime * 1000).unref();
setInterval(() => {}, 1_000_000);  // keeps the process alive until stopped
