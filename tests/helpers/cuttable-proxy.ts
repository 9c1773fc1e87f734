import net from 'node:net';

/**
 * A TCP proxy on loopback in front of a server (s3rver in the tests) that can cut every
 * connection once a number of bytes have passed in one direction, and then refuses new
 * connections until restored: a store that crashes or loses its network mid-transfer.
 */
export class CuttableProxy {
	private readonly server: net.Server;
	private readonly sockets = new Set<net.Socket>();
	private down = false;
	private budget: { direction: 'up' | 'down'; bytes: number } | null = null;
	private lastDown: { closed: boolean; bytesDown: number } | null = null;
	port = 0;

	constructor(private readonly target: number) {
		this.server = net.createServer((client) => this.accept(client));
	}

	async start(): Promise<void> {
		await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
		this.port = (this.server.address() as net.AddressInfo).port;
	}

	/** Cuts everything once `bytes` more have gone towards the store (up) or from it (down). */
	cutAfter(direction: 'up' | 'down', bytes: number): void {
		this.budget = { direction, bytes };
	}

	/** The store is gone at once: open connections cut, new ones refused. */
	cutNow(): void {
		this.cut();
	}

	restore(): void {
		this.down = false;
		this.budget = null;
	}

	get isDown(): boolean {
		return this.down;
	}

	/**
	 * The connection that most recently carried bytes from the store: `closed` once it ends,
	 * `bytesDown` the bytes it carried from the store.
	 */
	get lastDownstream(): { readonly closed: boolean; readonly bytesDown: number } | null {
		return this.lastDown;
	}

	private cut(): void {
		this.down = true;
		this.budget = null;
		for (const socket of this.sockets) socket.destroy();
		this.sockets.clear();
	}

	private spend(direction: 'up' | 'down', bytes: number): void {
		if (!this.budget || this.budget.direction !== direction) return;
		this.budget.bytes -= bytes;
		if (this.budget.bytes <= 0) this.cut();
	}

	private accept(client: net.Socket): void {
		if (this.down) {
			client.destroy();
			return;
		}
		const upstream = net.connect(this.target, '127.0.0.1');
		const connection = { closed: false, bytesDown: 0 };
		for (const socket of [client, upstream]) {
			this.sockets.add(socket);
			socket.on('error', () => {});
			socket.on('close', () => {
				connection.closed = true;
				this.sockets.delete(socket);
				client.destroy();
				upstream.destroy();
			});
		}
		client.on('data', (chunk: Buffer) => {
			if (this.down) return;
			upstream.write(chunk);
			this.spend('up', chunk.length);
		});
		upstream.on('data', (chunk: Buffer) => {
			if (this.down) return;
			client.write(chunk);
			connection.bytesDown += chunk.length;
			this.lastDown = connection;
			this.spend('down', chunk.length);
		});
	}

	async close(): Promise<void> {
		this.cut();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}
}
