import type { Config } from '../config';
import { createLocalObjectStore } from './local';
import type { ObjectStore } from './types';

export * from './types';
export { assertValidKey, newObjectKey } from './keys';

export async function createObjectStore(config: Config['storage']): Promise<ObjectStore> {
	if (config.kind === 'local') return createLocalObjectStore(config.dir);
	const { createS3ObjectStore } = await import('./s3');
	return createS3ObjectStore(config);
}

let current: ObjectStore | undefined;

export function setObjectStore(store: ObjectStore | undefined): void {
	current = store;
}

export function getObjectStore(): ObjectStore {
	if (!current) throw new Error('The object store is not set up yet');
	return current;
}
export { resolveRange } from './range';
