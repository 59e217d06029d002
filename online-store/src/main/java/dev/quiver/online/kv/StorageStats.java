package dev.quiver.online.kv;

/**
 * What a key-value store reports of its own state at one moment, for monitoring: figures of the
 * store engine, read when asked. Counters count since the store was opened.
 *
 * @param blockCacheHits reads of a block (data, index or filter) found in the block cache
 * @param blockCacheMisses reads of a block that had to be read from a file
 * @param blockCacheUsageBytes bytes the block cache holds
 * @param blockCacheCapacityBytes the most bytes the block cache may hold
 * @param memtableBytes bytes of the memtables (recent writes not yet flushed, and flushed ones not
 *     yet released) of every keyspace
 * @param pendingCompactionBytes the engine's estimate of the bytes compaction has to rewrite to
 *     bring every keyspace's levels under their targets
 * @param liveSstBytes bytes of the table files of the current version of every keyspace
 */
public record StorageStats(
    long blockCacheHits,
    long blockCacheMisses,
    long blockCacheUsageBytes,
    long blockCacheCapacityBytes,
    long memtableBytes,
    long pendingCompactionBytes,
    long liveSstBytes) {}
