import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMailer } from './mail';

const dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-outbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo outbox mailer', () => {
	it('writes each message as an .eml file and keeps header injection out of the headers', async () => {
		const mailer = createMailer({ kind: 'outbox', dir, from: 'JISS <intranet@jiss.example>' });
		await mailer.send({
			to: 'new.fellow@jiss.example',
			subject: 'Your enrolment link\r\nBcc: attacker@evil.example',
			text: '日本語の本文\nhttps://intranet.example/enrol/abc'
		});
		await mailer.send({ to: 'b@jiss.example', subject: 'Second', text: 'two' });
		const files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
		expect(files).toHaveLength(2);
		const first = files
			.map((f) => readFileSync(path.join(dir, f), 'utf8'))
			.find((t) => t.includes('日本語'))!;
		const [headers, body] = first.split('\r\n\r\n');
		expect(headers).toContain('To: new.fellow@jiss.example');
		expect(headers).toContain('Subject: Your enrolment link Bcc: attacker@evil.example');
		expect(headers!.split('\r\n').some((line) => line.startsWith('Bcc:'))).toBe(false);
		expect(body).toBe('日本語の本文\nhttps://intranet.example/enrol/abc');
	});
});
