// Starts s3rver (an S3 implementation Parley did not write; note that s3rver 3.7.1 does not
// check V4 signatures, only a pre-signed URL's expiry) on 127.0.0.1 with a bucket
// "parley-media", its files under DIRECTORY, and prints {"port": N} once it listens.
// Credentials: any (Parley's tests use access key "S3RVER", secret "S3RVER").
//
//   node s3rver.mjs DIRECTORY [--port P] [--lifetime S] [--cors ORIGIN]
//
// --port: 0 (the default) picks a free one. --lifetime: exits after S seconds whatever happens
// (default 120, so a test that dies cannot leave it behind; 0 = until SIGTERM or SIGINT, for
// scripts/cluster.sh). --cors: the bucket gets a CORS configuration letting pages of ORIGIN
// (e.g. http://127.0.0.1:8080, or '*' for any) GET, HEAD and PUT its objects with any request
// headers, ETag exposed, as a browser uploading to and downloading from pre-signed URLs needs;
// without it the bucket has none (cross-origin requests from a page are refused).
import S3rver from 's3rver';

const USAGE = 'usage: node s3rver.mjs DIRECTORY [--port P] [--lifetime S] [--cors ORIGIN]';
const args = process.argv.slice(2);
const directory = args.shift();
const options = { port: 0, lifetime: 120, cors: null };
while (args.length > 0) {
  const name = args.shift();
  const value = args.shift();
  if (name === '--cors' && value) {
    options.cors = value;
    continue;
  }
  const number = Number(value);
  if (!['--port', '--lifetime'].includes(name) || !Number.isInteger(number) || number < 0) throw new Error(USAGE);
  options[name.slice(2)] = number;
}
if (!directory) throw new Error(USAGE);

/** A bucket CORS configuration (S3's XML) for pages of `origin`. */
function corsConfiguration(origin) {
  const escaped = origin.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>${escaped}</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;
}

const server = new S3rver({
  address: '127.0.0.1',
  port: options.port,
  silent: true,
  directory,
  configureBuckets: [{ name: 'parley-media', configs: options.cors ? [corsConfiguration(options.cors)] : [] }],
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
