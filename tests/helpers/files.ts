import { crc32, deflateRawSync } from 'node:zlib';

/** Small but real sample files of every allowed type, built in memory for tests and benches. */

export function zip(entries: { name: string; data: Buffer | string }[]): Buffer {
	const locals: Buffer[] = [];
	const centrals: Buffer[] = [];
	let offset = 0;
	for (const entry of entries) {
		const data = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data, 'utf8');
		const compressed = deflateRawSync(data);
		const name = Buffer.from(entry.name, 'utf8');
		const crc = crc32(data);
		const local = Buffer.alloc(30);
		local.writeUInt32LE(0x04034b50, 0);
		local.writeUInt16LE(20, 4);
		local.writeUInt16LE(0x0800, 6);
		local.writeUInt16LE(8, 8);
		local.writeUInt32LE(crc, 14);
		local.writeUInt32LE(compressed.length, 18);
		local.writeUInt32LE(data.length, 22);
		local.writeUInt16LE(name.length, 26);
		locals.push(local, name, compressed);
		const central = Buffer.alloc(46);
		central.writeUInt32LE(0x02014b50, 0);
		central.writeUInt16LE(20, 4);
		central.writeUInt16LE(20, 6);
		central.writeUInt16LE(0x0800, 8);
		central.writeUInt16LE(8, 10);
		central.writeUInt32LE(crc, 16);
		central.writeUInt32LE(compressed.length, 20);
		central.writeUInt32LE(data.length, 24);
		central.writeUInt16LE(name.length, 28);
		central.writeUInt32LE(offset, 42);
		centrals.push(central, name);
		offset += 30 + name.length + compressed.length;
	}
	const directory = Buffer.concat(centrals);
	const end = Buffer.alloc(22);
	end.writeUInt32LE(0x06054b50, 0);
	end.writeUInt16LE(entries.length, 8);
	end.writeUInt16LE(entries.length, 10);
	end.writeUInt32LE(directory.length, 12);
	end.writeUInt32LE(offset, 16);
	return Buffer.concat([...locals, directory, end]);
}

const MAIN = {
	docx: ['word/document.xml', 'wordprocessingml.document.main+xml'],
	xlsx: ['xl/workbook.xml', 'spreadsheetml.sheet.main+xml'],
	pptx: ['ppt/presentation.xml', 'presentationml.presentation.main+xml']
} as const;

export function ooxml(kind: 'docx' | 'xlsx' | 'pptx', mainTypeOf = kind): Buffer {
	const [part] = MAIN[kind];
	const type = `application/vnd.openxmlformats-officedocument.${MAIN[mainTypeOf][1]}`;
	return zip([
		{
			name: '[Content_Types].xml',
			data:
				'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
				'<Default Extension="xml" ContentType="application/xml"/>' +
				`<Override PartName="/${part}" ContentType="${type}"/></Types>`
		},
		{ name: part, data: '<?xml version="1.0"?><root/>' }
	]);
}

export function pdf(text = 'Hello'): Buffer {
	return Buffer.from(
		`%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n` +
			`3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R>>endobj\n` +
			`4 0 obj<</Length ${text.length + 24}>>stream\nBT /F1 12 Tf 10 100 Td (${text}) Tj ET\nendstream endobj\n` +
			`trailer<</Root 1 0 R>>\n%%EOF\n`,
		'latin1'
	);
}

export function png(): Buffer {
	return Buffer.from(
		'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
		'base64'
	);
}

export function jpeg(): Buffer {
	return Buffer.concat([
		Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
		Buffer.from('JFIF\0', 'latin1'),
		Buffer.alloc(64, 0x11),
		Buffer.from([0xff, 0xd9])
	]);
}
