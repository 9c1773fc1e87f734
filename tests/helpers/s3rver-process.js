// Runs s3rver in its own process for tests/helpers/s3.ts. It runs under
// --openssl-legacy-provider because s3rver encrypts ListObjectsV2 continuation tokens with DES,
// which OpenSSL 3 only offers there: without it, listing more than 1000 keys fails with a 500.
// Prints its port as one JSON line; exits when the parent closes stdin or goes away.
import S3rver from 's3rver';

const [bucket = 'jiss-test', port = '0', directory = '.'] = process.argv.slice(2);
const server = new S3rver({
	address: '127.0.0.1',
	port: Number(port),
	silent: true,
	directory,
	configureBuckets: [{ name: bucket, configs: [] }]
});
const address = await server.run();
process.stdout.write(JSON.stringify({ port: address.port }) + '\n');

let closing = false;
async function close() {
	if (closing) return;
	closing = true;
	await server.close();
	process.exit(0);
}
process.stdin.on('end', close).on('close', close);
process.stdin.resume();
process.on('SIGTERM', close);
