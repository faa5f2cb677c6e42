// Starts s3rver (an S3 implementation Parley did not write; it checks SigV4 signatures,
// pre-signed ones included) on 127.0.0.1 with a bucket "parley-media", its files under the
// directory given as the first argument, and prints {"port": N} once it listens. Credentials:
// access key "S3RVER", secret "S3RVER". Exits on SIGTERM, or after 120 s whatever happens.
import S3rver from 's3rver';

const directory = process.argv[2];
if (!directory) throw new Error('usage: node s3rver.mjs DIRECTORY');
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
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
setTimeout(stop, 120_000).unref();
setInterval(() => {}, 1_000_000);  // keeps the process alive until stopped
