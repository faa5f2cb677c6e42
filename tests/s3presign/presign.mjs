// Prints the pre-signed URLs that the AWS SDK (@aws-sdk/s3-request-presigner) makes for each
// case of cases.json (or the file named as the first argument), as a JSON array of
// {"name", "url"}, with the clock fixed to each case's "now" (Unix seconds). The C++ signer
// (src/media/s3_presign.cpp) must produce the same bytes: tests/unit/media_s3_presign_test.cpp.
import { readFileSync } from 'node:fs';
import { S3Client, GetObjectCommand, PutObjectCommand, HeadObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

const casesPath = process.argv[2] ?? new URL('./cases.json', import.meta.url);
const cases = JSON.parse(readFileSync(casesPath, 'utf8'));
const out = [];
for (const c of cases) {
  const client = new S3Client({
    endpoint: c.endpoint,
    region: c.region,
    forcePathStyle: c.path_style,
    credentials: { accessKeyId: c.access_key, secretAccessKey: c.secret_key },
    // Without this the SDK adds a CRC32 of the (empty) body to a PUT URL, which the real
    // upload would then fail; Parley signs no checksum (the server checks the upload itself).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    // ... and asks for a checksum in every GET URL's response (x-amz-checksum-mode=ENABLED).
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const input = { Bucket: c.bucket, Key: c.key };
  let command;
  if (c.method === 'GET') command = new GetObjectCommand(input);
  else if (c.method === 'HEAD') command = new HeadObjectCommand(input);
  else if (c.method === 'DELETE') command = new DeleteObjectCommand(input);
  else if (c.method === 'PUT') command = new PutObjectCommand({ ...input, ContentLength: c.content_length });
  else throw new Error(`unknown method ${c.method}`);
  const url = await getSignedUrl(client, command, {
    expiresIn: c.expires_in,
    signingDate: new Date(c.now * 1000),
    // content-length is signed (not hoisted into the query), so the declared size binds the upload.
    signableHeaders: new Set(['content-length']),
  });
  out.push({ name: c.name, url });
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
