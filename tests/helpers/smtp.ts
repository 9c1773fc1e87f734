import net from 'node:net';

export interface ReceivedMail {
	from: string;
	to: string[];
	/** Headers and body as sent (CRLF line ends, dot-stuffing undone). */
	data: string;
}

export interface RunningSmtp {
	url: string;
	received: ReceivedMail[];
	stop(): Promise<void>;
}

/**
 * A mail relay that keeps what it is sent, on a loopback port: enough of SMTP (RFC 5321) for
 * nodemailer, so that the app's production mail path (SMTP_URL) runs for real in a test. No
 * STARTTLS and no authentication are offered, and nodemailer then sends in the clear.
 */
export async function startSmtpCapture(): Promise<RunningSmtp> {
	const received: ReceivedMail[] = [];
	const sockets = new Set<net.Socket>();
	const server = net.createServer((socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
		socket.setEncoding('utf8');
		let buffer = '';
		let inData = false;
		let mail: ReceivedMail = { from: '', to: [], data: '' };
		const reply = (line: string) => socket.write(`${line}\r\n`);
		reply('220 capture ESMTP');
		socket.on('data', (chunk: string) => {
			buffer += chunk;
			for (let end = buffer.indexOf('\r\n'); end !== -1; end = buffer.indexOf('\r\n')) {
				const line = buffer.slice(0, end);
				buffer = buffer.slice(end + 2);
				if (inData) {
					if (line === '.') {
						inData = false;
						received.push(mail);
						mail = { from: '', to: [], data: '' };
						reply('250 kept');
					} else {
						mail.data += `${line.startsWith('..') ? line.slice(1) : line}\r\n`;
					}
					continue;
				}
				const verb = line.slice(0, 4).toUpperCase();
				if (verb === 'EHLO' || verb === 'HELO') reply('250 capture');
				else if (verb === 'MAIL') {
					mail.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
					reply('250 ok');
				} else if (verb === 'RCPT') {
					mail.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
					reply('250 ok');
				} else if (verb === 'DATA') {
					inData = true;
					reply('354 go on');
				} else if (verb === 'QUIT') {
					reply('221 bye');
					socket.end();
				} else if (verb === 'RSET' || verb === 'NOOP') reply('250 ok');
				else reply('502 not here');
			}
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as net.AddressInfo;
	return {
		url: `smtp://127.0.0.1:${port}`,
		received,
		async stop() {
			for (const socket of sockets) socket.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}

/** The text of a single-part mail as nodemailer sends it: base64 or quoted-printable undone. */
export function textOf(mail: ReceivedMail): string {
	const split = mail.data.indexOf('\r\n\r\n');
	const headers = mail.data.slice(0, split);
	const body = mail.data.slice(split + 4);
	const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(headers)?.[1]?.toLowerCase();
	if (encoding === 'base64')
		return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
	if (encoding === 'quoted-printable') {
		const bytes = body
			.replace(/=\r\n/g, '')
			.replace(/=([0-9A-F]{2})/gi, (_, hex: string) => `%${hex}`)
			.replace(/%(?![0-9A-F]{2})/gi, '%25');
		return decodeURIComponent(bytes);
	}
	return body;
}
