import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface KeyRing {
	/** The first key encrypts; every key decrypts what was written with its id. */
	keys: { id: string; key: Buffer }[];
}

/** AES-256-GCM; the stored value is iv (12) ‖ tag (16) ‖ ciphertext, the key id beside it. */
export function encryptSecret(
	ring: KeyRing,
	plaintext: Uint8Array
): { keyId: string; value: Uint8Array } {
	const current = ring.keys[0];
	if (!current) throw new Error('No encryption key configured');
	const iv = randomBytes(12);
	const cipher = createCipheriv('aes-256-gcm', current.key, iv);
	const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
	return { keyId: current.id, value: Buffer.concat([iv, cipher.getAuthTag(), body]) };
}

export function decryptSecret(ring: KeyRing, keyId: string, value: Uint8Array): Uint8Array {
	const entry = ring.keys.find((k) => k.id === keyId);
	if (!entry) throw new Error(`No encryption key with id ${keyId}`);
	const buffer = Buffer.from(value);
	const decipher = createDecipheriv('aes-256-gcm', entry.key, buffer.subarray(0, 12));
	decipher.setAuthTag(buffer.subarray(12, 28));
	return new Uint8Array(Buffer.concat([decipher.update(buffer.subarray(28)), decipher.final()]));
}
