import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from './config';
import { log } from './log';

export interface MailMessage {
	to: string;
	subject: string;
	text: string;
}

export interface Mailer {
	send(message: MailMessage): Promise<void>;
}

function headerSafe(value: string): string {
	return value.replace(/[\r\n]+/g, ' ');
}

/** Demo mode: each message becomes an .eml file in the outbox, announced on the console. */
export function createOutboxMailer(dir: string, from: string): Mailer {
	return {
		async send(message) {
			await mkdir(dir, { recursive: true, mode: 0o700 });
			const stamp = new Date().toISOString().replace(/[:.]/g, '-');
			const file = path.join(dir, `${stamp}-${randomUUID()}.eml`);
			const body = [
				`From: ${headerSafe(from)}`,
				`To: ${headerSafe(message.to)}`,
				`Subject: ${headerSafe(message.subject)}`,
				`Date: ${new Date().toUTCString()}`,
				'MIME-Version: 1.0',
				'Content-Type: text/plain; charset=utf-8',
				'',
				message.text
			].join('\r\n');
			await writeFile(file, body, { mode: 0o600 });
			// The path only: the message may hold a one-time link, which must not reach the logs.
			log.info({ outbox: file }, 'mail written to the demo outbox');
		}
	};
}

export function createSmtpMailer(url: string, from: string): Mailer {
	const transport = nodemailer.createTransport(url);
	return {
		async send(message) {
			await transport.sendMail({
				from,
				to: message.to,
				subject: message.subject,
				text: message.text
			});
			log.info({ subject: message.subject }, 'mail sent');
		}
	};
}

export function createMailer(config: Config['mail']): Mailer {
	return config.kind === 'smtp'
		? createSmtpMailer(config.url, config.from)
		: createOutboxMailer(config.dir, config.from);
}

let current: Mailer | undefined;

export function setMailer(mailer: Mailer | undefined): void {
	current = mailer;
}

export function getMailer(): Mailer {
	if (!current) throw new Error('The mailer is not set up yet');
	return current;
}
