import {
	createHash,
	createPrivateKey,
	createPublicKey,
	sign,
	verify,
	type KeyObject
} from 'node:crypto';

export interface SigningKeyConfig {
	id: string;
	key: Buffer;
}

export interface SigningKey {
	id: string;
	privateKey: KeyObject;
	publicKey: KeyObject;
	/** Raw 32-byte Ed25519 public key, base64. */
	publicKeyBase64: string;
	/** SHA-256 of the raw public key, hex in groups of four, for comparing by eye. */
	fingerprint: string;
}

// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410): Node imports keys only in a container.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function fingerprintOf(rawPublicKey: Buffer): string {
	const hex = createHash('sha256').update(rawPublicKey).digest('hex');
	return hex.match(/.{4}/g)!.join(':');
}

export function loadSigningKey({ id, key }: SigningKeyConfig): SigningKey {
	if (key.length !== 32) throw new Error(`Audit signing key ${id} must be a 32-byte Ed25519 seed`);
	const privateKey = createPrivateKey({
		key: Buffer.concat([PKCS8_ED25519_PREFIX, key]),
		format: 'der',
		type: 'pkcs8'
	});
	const publicKey = createPublicKey(privateKey);
	const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
	return {
		id,
		privateKey,
		publicKey,
		publicKeyBase64: raw.toString('base64'),
		fingerprint: fingerprintOf(raw)
	};
}

export function signMessage(key: SigningKey, message: string): string {
	return sign(null, Buffer.from(message, 'utf8'), key.privateKey).toString('base64');
}

export function verifyMessage(key: SigningKey, message: string, signature: string): boolean {
	try {
		return verify(
			null,
			Buffer.from(message, 'utf8'),
			key.publicKey,
			Buffer.from(signature, 'base64')
		);
	} catch {
		return false;
	}
}
