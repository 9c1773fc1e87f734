import { hash } from '@node-rs/argon2';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, setConfig } from '../config';
import { DEMO_ACCOUNTS } from '../seed/demo-data';

/** Every password argon2 was asked to verify, in order. */
const verified = vi.hoisted(() => [] as string[]);
vi.mock('@node-rs/argon2', async (importOriginal) => {
	const real = await importOriginal<typeof import('@node-rs/argon2')>();
	return {
		...real,
		verify: (hashed: string, password: string) => {
			verified.push(password);
			return real.verify(hashed, password);
		}
	};
});

const { dummyPasswordHash, hashPassword, normalisePassword, verifyPasswordHash } =
	await import('./password');
const { checkNewPassword, passwordTooLong, passwordTooLongToCheck, samePassword } =
	await import('./password-policy');

beforeAll(() => {
	setConfig(loadConfig({ INTRANET_MODE: 'demo', DATA_DIR: 'tests/.tmp/password' }));
});

// The same password typed three ways: half-width, full-width (an IME left in full-width mode),
// and with its kana decomposed (a base letter and a combining voiced mark, as some systems
// and copy-pastes produce).
const half = 'ガイド2026 orbit';
const full = 'ｶﾞｲﾄﾞ２０２６\u3000ｏｒｂｉｔ';
const decomposed = 'カ\u3099イト\u30992026 orbit';

describe('password normalisation (NFKC)', () => {
	it('makes one password of its typings', () => {
		expect(normalisePassword(full)).toBe(half);
		expect(normalisePassword(decomposed)).toBe(half);
		expect(samePassword(full, decomposed)).toBe(true);
		expect(samePassword(half, half + ' ')).toBe(false);
	});

	it('hashes the normalised form, so that any typing of it matches', async () => {
		const stored = await hashPassword(full);
		for (const typed of [half, full, decomposed]) {
			expect(await verifyPasswordHash(stored, typed)).toBe('normalised');
		}
		expect(await verifyPasswordHash(stored, 'ガイド2025 orbit')).toBe(false);
	});

	it('still matches a hash made before from the text as typed, and says so', async () => {
		const legacy = await hash(full, { algorithm: 2, memoryCost: 19_456, timeCost: 2 });
		expect(await verifyPasswordHash(legacy, full)).toBe('as_typed');
		// Another typing cannot match until the hash is made again from the normalised form.
		expect(await verifyPasswordHash(legacy, half)).toBe(false);
		expect(await verifyPasswordHash(legacy, decomposed)).toBe(false);
		// A hash made before of an ASCII password is the same as one made now.
		const ascii = await hash('plain ascii words', { algorithm: 2 });
		expect(await verifyPasswordHash(ascii, 'plain ascii words')).toBe('normalised');
	});

	it('costs every check the same argon2 work, right or wrong, whatever was typed', async () => {
		const stored = await hashPassword('the right one, in ASCII');
		const dummy = await dummyPasswordHash();
		const runs = async (hashed: string, typed: string) => {
			verified.length = 0;
			expect(await verifyPasswordHash(hashed, typed)).toBe(false);
			return verified.length;
		};
		// ASCII, already normalised non-ASCII, and text NFKC changes: two verifications each,
		// on the real hash and on the dummy one (an unknown account) alike.
		for (const hashed of [stored, dummy]) {
			expect(await runs(hashed, 'a wrong ascii guess')).toBe(2);
			expect(await runs(hashed, half)).toBe(2);
			expect(await runs(hashed, full)).toBe(2);
		}
		// A right password too: a refusal after it (no second factor where one is required, a
		// demo password in production) must not answer sooner than a wrong password's.
		verified.length = 0;
		expect(await verifyPasswordHash(stored, 'the right one, in ASCII')).toBe('normalised');
		expect(verified).toHaveLength(2);
	});

	it('still checks a password set before normalisation that NFKC makes too long to set', async () => {
		// U+FDFA is one character typed and eighteen normalised: eight of them were a valid
		// password before, and are 144 characters now.
		const typed = '\uFDFA'.repeat(8);
		expect(checkNewPassword(typed, { email: 'a@jiss.example', minLength: 8 })).toBe('too_long');
		expect(passwordTooLongToCheck(typed)).toBe(false);
		const legacy = await hash(typed, { algorithm: 2 });
		expect(await verifyPasswordHash(legacy, typed)).toBe('as_typed');
		// Too long both ways: refused before any hashing.
		expect(passwordTooLongToCheck('\uFDFA'.repeat(129))).toBe(true);
		expect(passwordTooLongToCheck('x'.repeat(129))).toBe(true);
	});

	it('applies the rules to the normalised form', () => {
		const email = 'person@jiss.example';
		// Full-width copies of a common and of a demo password are those passwords.
		expect(checkNewPassword('password123', { email, minLength: 8 })).toBe('common');
		expect(checkNewPassword('ｐａｓｓｗｏｒｄ１２３', { email, minLength: 8 })).toBe('common');
		const demo = DEMO_ACCOUNTS[0]!.password;
		const fullWidthDemo = [...demo]
			.map((c) => (c === '-' ? '－' : String.fromCharCode(c.charCodeAt(0) + 0xfee0)))
			.join('');
		expect(fullWidthDemo).not.toBe(demo);
		expect(checkNewPassword(fullWidthDemo, { email, mode: 'demo' })).toBeNull();
		expect(checkNewPassword(fullWidthDemo, { email, mode: 'production' })).toBe('demo_password');
		expect(
			checkNewPassword('ＰＥＲＳＯＮ＠ＪＩＳＳ．ＥＸＡＭＰＬＥ', { email, minLength: 8 })
		).toBe('same_as_email');
		// Length is counted on the normalised form: seven decomposed kana are seven characters,
		const sevenKana = 'カ\u3099'.repeat(7);
		expect(checkNewPassword(sevenKana, { email, minLength: 8 })).toBe('too_short');
		expect(checkNewPassword(sevenKana + 'カ\u3099', { email, minLength: 8 })).toBeNull();
		// 128 of them (256 code points as typed) are not too long, one more is,
		const longest = 'カ\u3099'.repeat(128);
		expect(passwordTooLong(longest)).toBe(false);
		expect(checkNewPassword(longest, { email, minLength: 8 })).toBeNull();
		expect(passwordTooLong(longest + 'カ')).toBe(true);
		// and a ligature NFKC spells out in 18 characters counts as 18.
		expect(normalisePassword('\uFDFA')).toHaveLength(18);
		expect(passwordTooLong('\uFDFA'.repeat(7))).toBe(false);
		expect(passwordTooLong('\uFDFA'.repeat(8))).toBe(true);
		// Text far too long is refused without being normalised.
		expect(passwordTooLong('x'.repeat(1_000_000))).toBe(true);
	});
});
