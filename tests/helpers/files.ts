import { crc32, createDeflate, deflateRawSync } from 'node:zlib';

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

/**
 * A PDF of the given objects (numbered from 1, the first the catalog), each a dictionary and
 * optionally its stream data (its /Length added), with a cross-reference table.
 */
export function pdfOf(objects: { dictionary: string; stream?: Buffer }[], trailer = ''): Buffer {
	const parts: Buffer[] = [Buffer.from('%PDF-1.7\n', 'latin1')];
	let length = parts[0]!.length;
	const offsets: number[] = [];
	const push = (part: Buffer) => {
		parts.push(part);
		length += part.length;
	};
	objects.forEach((object, index) => {
		offsets.push(length);
		if (object.stream) {
			push(
				Buffer.from(
					`${index + 1} 0 obj\n<<${object.dictionary}/Length ${object.stream.length}>>\nstream\n`,
					'latin1'
				)
			);
			push(object.stream);
			push(Buffer.from('\nendstream\nendobj\n', 'latin1'));
		} else {
			push(Buffer.from(`${index + 1} 0 obj\n<<${object.dictionary}>>\nendobj\n`, 'latin1'));
		}
	});
	const xref = length;
	let table = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
	for (const offset of offsets) table += `${String(offset).padStart(10, '0')} 00000 n \n`;
	table += `trailer\n<</Size ${objects.length + 1}/Root 1 0 R${trailer}>>\nstartxref\n${xref}\n%%EOF\n`;
	push(Buffer.from(table, 'latin1'));
	return Buffer.concat(parts);
}

/**
 * `head` followed by `size` bytes of `fill`, zlib-compressed (a PDF's FlateDecode) as it is
 * produced, so that a stream that expands to hundreds of megabytes costs the test little memory.
 */
export async function deflated(head: string, size: number, fill = 0x20): Promise<Buffer> {
	const deflate = createDeflate({ level: 9 });
	const out: Buffer[] = [];
	deflate.on('data', (chunk: Buffer) => out.push(chunk));
	const done = new Promise((resolve, reject) => {
		deflate.on('end', resolve);
		deflate.on('error', reject);
	});
	deflate.write(Buffer.from(head, 'latin1'));
	const block = Buffer.alloc(1024 * 1024, fill);
	for (let left = size; left > 0; left -= block.length) {
		const piece = left >= block.length ? block : block.subarray(0, left);
		if (!deflate.write(piece)) await new Promise((resolve) => deflate.once('drain', resolve));
	}
	deflate.end();
	await done;
	return Buffer.concat(out);
}

/** A one-page PDF whose page content is `content` (Helvetica as /F1), FlateDecode-compressed. */
export function pdfWithContent(compressedContent: Buffer): Buffer {
	return pdfOf([
		{ dictionary: '/Type/Catalog/Pages 2 0 R' },
		{ dictionary: '/Type/Pages/Kids[3 0 R]/Count 1' },
		{
			dictionary:
				'/Type/Page/Parent 2 0 R/MediaBox[0 0 300 300]/Contents 4 0 R' +
				'/Resources<</Font<</F1 5 0 R>>>>'
		},
		{ dictionary: '/Filter/FlateDecode', stream: compressedContent },
		{ dictionary: '/Type/Font/Subtype/Type1/BaseFont/Helvetica' }
	]);
}
