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

/** What checking a signature needs: the public half only. */
export interface VerifyKey {
	id: string;
	publicKey: KeyObject;
	/** Raw 32-byte Ed25519 public key, base64. */
	publicKeyBase64: string;
	/** SHA-256 of the raw public key, hex in groups of four, for comparing by eye. */
	fingerprint: string;
}

export interface SigningKey extends VerifyKey {
	privateKey: KeyObject;
}

// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410): Node imports keys only in a container.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
// SPKI wrapping of a raw 32-byte Ed25519 public key (RFC 8410).
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

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
	const raw = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(-32);
	return { ...loadPublicKey({ id, key: raw }), privateKey };
}

/**
 * A public key given on its own (`AUDIT_VERIFY_KEYS`): verification that holds no signing seed
 * cannot sign a checkpoint, and a substituted signing key does not verify against it.
 */
export function loadPublicKey({ id, key }: SigningKeyConfig): VerifyKey {
	if (key.length !== 32) throw new Error(`Audit verify key ${id} must be a 32-byte Ed25519 key`);
	const publicKey = createPublicKey({
		key: Buffer.concat([SPKI_ED25519_PREFIX, key]),
		format: 'der',
		type: 'spki'
	});
	return {
		id,
		publicKey,
		publicKeyBase64: key.toString('base64'),
		fingerprint: fingerprintOf(key)
	};
}

export function signMessage(key: SigningKey, message: string): string {
	return sign(null, Buffer.from(message, 'utf8'), key.privateKey).toString('base64');
}

export function verifyMessage(key: VerifyKey, message: string, signature: string): boolean {
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

/** A verification key as shown to people: its public half only, never a seed or a key object. */
export interface PublicKeyInfo {
	id: string;
	publicKey: string;
	fingerprint: string;
	/** The key that signs new checkpoints (same id and same public key). */
	signsNew: boolean;
}

export function describeKeys(
	keys: readonly VerifyKey[],
	signer: VerifyKey | undefined
): PublicKeyInfo[] {
	return keys.map((k) => ({
		id: k.id,
		publicKey: k.publicKeyBase64,
		fingerprint: k.fingerprint,
		signsNew: signer?.id === k.id && signer.publicKeyBase64 === k.publicKeyBase64
	}));
}

/**
 * Why checkpoints signed by `signer` would fail verification against the pinned keys, or null
 * when the very same key is pinned under its id. Names ids and fingerprints, nothing secret.
 */
export function unpinnedSigner(signer: VerifyKey, pinned: readonly VerifyKey[]): string | null {
	const sameId = pinned.find((k) => k.id === signer.id);
	if (sameId?.publicKeyBase64 === signer.publicKeyBase64) return null;
	return sameId
		? `pins another key under the id ${signer.id} (fingerprint ${sameId.fingerprint}) than the ` +
				`one that signs new checkpoints (fingerprint ${signer.fingerprint}): every checkpoint ` +
				'it signs would fail verification as forged'
		: `holds no key under the id ${signer.id}, the one that signs new checkpoints (fingerprint ` +
				`${signer.fingerprint}): every checkpoint it signs would fail verification as signed ` +
				'by an unknown key';
}
