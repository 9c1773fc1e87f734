import type { TestProject } from 'vitest/node';
import { startS3Server } from '../helpers/s3';

declare module 'vitest' {
	export interface ProvidedContext {
		s3Endpoint: string;
		s3Bucket: string;
	}
}

/** One S3 server for the whole Vitest run; test files that need their own start one. */
export default async function setup(project: TestProject) {
	const s3 = await startS3Server('jiss-test');
	project.provide('s3Endpoint', s3.endpoint);
	project.provide('s3Bucket', s3.bucket);
	return async () => {
		await s3.stop();
	};
}
