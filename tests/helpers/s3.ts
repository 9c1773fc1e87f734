import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface RunningS3 {
	endpoint: string;
	bucket: string;
	port: number;
	stop(): Promise<void>;
}

/** A real S3-compatible HTTP server on a loopback port, with one empty bucket. */
export async function startS3Server(bucket = 'jiss-test', port = 0): Promise<RunningS3> {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'jiss-s3rver-'));
	const server = new S3rver({
		address: '127.0.0.1',
		port,
		silent: true,
		directory,
		configureBuckets: [{ name: bucket, configs: [] }]
	});
	const address = (await server.run()) as AddressInfo;
	return {
		endpoint: `http://127.0.0.1:${address.port}`,
		bucket,
		port: address.port,
		async stop() {
			await server.close();
			rmSync(directory, { recursive: true, force: true });
		}
	};
}
