// Types of scripts/prebuilds.mjs, for the tests that import it.
export declare const RELEASE_TARGETS: readonly string[];
export declare function libcHere(): 'glibc' | 'musl' | string;
export declare function ownTarget(): string;
export declare function prebuildPath(target: string): string;
export declare function targetOf(path: string): string | undefined;
