package dev.quiver.online;

import dev.quiver.online.kv.OnlineKeyValueStore;
import dev.quiver.online.kv.OnlineKeyValueStore.Access;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.semantics.OrderKey;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Where the online store keeps what, over any {@link OnlineKeyValueStore}. Per view version:
 *
 * <ul>
 *   <li>{@code view/<name>@<v>}, point reads: encoded entity key → {@link StoredRow} of its newest
 *       row. The row's order key holds the source partition it came from.
 *   <li>{@code tiles/<name>@<v>}, scanned: entity key, aggregation id (4 bytes), tile start with
 *       its sign flipped (8), source partition (4) → the aggregate state of that partition's rows
 *       in the tile. The partition comes last so one scan covers a window whatever partitions fed
 *       it.
 *   <li>{@code parts/<name>@<v>}, partition-keyed: source partition (4), entity key → nothing: the
 *       entity has a row or tiles from that partition.
 * </ul>
 *
 * Metadata: {@code p/<view>/<topic>/<partition>} → the next offset to apply (8 bytes); {@code
 * f/<view>/<feature>} → the feature's id (4); {@code tile_format} → the aggregate state format;
 * {@code layout} → {@link #LAYOUT}.
 */
final class StoreLayout {
  private StoreLayout() {}

  /**
   * The version of this layout: 3, times in microseconds. 2: times in milliseconds. 1 (no {@code
   * layout} key): tiles without the partition, no partition index.
   */
  static final int LAYOUT = 3;

  static final String ROWS = "view/";
  static final String TILES = "tiles/";
  static final String INDEX = "parts/";
  static final String AHEAD = "ahead/";

  static final byte[] TILE_FORMAT_KEY = utf8("tile_format");
  static final byte[] LAYOUT_KEY = utf8("layout");
  static final byte[] FEATURE_IDS = utf8("f/");
  static final byte[] NOTHING = new byte[0];

  /**
   * Sorts after every key of a view's rows and tiles: entity keys begin with a type tag below 0xFF
   * ({@link EntityKeyCodec}).
   */
  static final byte[] LAST_ENTITY_KEY = {(byte) 0xFF};

  /** How each keyspace is read: rows by key only, everything else in order. */
  static Access access(String keyspace) {
    return keyspace.startsWith(ROWS) ? Access.POINT : Access.ORDERED;
  }

  /** The view of a keyspace of one of the per-view kinds, or null. */
  static ViewId viewOf(String keyspace, String kind) {
    if (!keyspace.startsWith(kind)) {
      return null;
    }
    String s = keyspace.substring(kind.length());
    int at = s.lastIndexOf('@');
    return new ViewId(s.substring(0, at), Integer.parseInt(s.substring(at + 1)));
  }

  static byte[] tileKey(byte[] entityKey, int id, long tileStart, int partition) {
    return ByteBuffer.allocate(entityKey.length + 16)
        .put(entityKey)
        .putInt(id)
        .putLong(tileStart ^ Long.MIN_VALUE)
        .putInt(partition)
        .array();
  }

  /** The partition of a tile key. */
  static int tilePartition(byte[] tileKey) {
    return ByteBuffer.wrap(tileKey, tileKey.length - 4, 4).getInt();
  }

  /** Sorts after every tile key of an entity. */
  static byte[] lastTileKey(byte[] entityKey) {
    byte[] k = new byte[entityKey.length + 16];
    System.arraycopy(entityKey, 0, k, 0, entityKey.length);
    java.util.Arrays.fill(k, entityKey.length, k.length, (byte) 0xFF);
    return k;
  }

  /**
   * The key of a row held apart until the clock reaches it: its event time first (sign flipped, so
   * keys sort by time), then partition, offset and entity key.
   */
  static byte[] aheadKey(OrderKey order, byte[] entityKey) {
    return ByteBuffer.allocate(20 + entityKey.length)
        .putLong(order.eventTimeMicros() ^ Long.MIN_VALUE)
        .putInt(order.partition())
        .putLong(order.offset())
        .put(entityKey)
        .array();
  }

  /** Sorts after the key of every held row stamped at or before {@code micros}. */
  static byte[] lastAheadKey(long micros) {
    byte[] k = new byte[21];
    ByteBuffer.wrap(k).putLong(micros ^ Long.MIN_VALUE);
    java.util.Arrays.fill(k, 8, k.length, (byte) 0xFF);
    return k;
  }

  static byte[] entityOfAheadKey(byte[] aheadKey) {
    return java.util.Arrays.copyOfRange(aheadKey, 20, aheadKey.length);
  }

  static byte[] indexKey(int partition, byte[] entityKey) {
    return ByteBuffer.allocate(4 + entityKey.length).putInt(partition).put(entityKey).array();
  }

  static byte[] entityOfIndexKey(byte[] indexKey) {
    return java.util.Arrays.copyOfRange(indexKey, 4, indexKey.length);
  }

  static byte[] positionKey(ViewId view, SourcePartition sp) {
    return utf8("p/" + view + "/" + sp.topic() + "/" + sp.partition());
  }

  static byte[] positionPrefix(ViewId view) {
    return utf8("p/" + view + "/");
  }

  static byte[] featureIdKey(ViewId view, String feature) {
    return utf8("f/" + view + "/" + feature);
  }

  static byte[] int32(int v) {
    return ByteBuffer.allocate(4).putInt(v).array();
  }

  static byte[] int64(long v) {
    return ByteBuffer.allocate(8).putLong(v).array();
  }

  /**
   * The least key greater than every key starting with {@code prefix} (which must hold a byte below
   * 0xFF): a scan's inclusive end, to be checked with {@link #startsWith}.
   */
  static byte[] prefixEnd(byte[] prefix) {
    int last = prefix.length - 1;
    while (prefix[last] == (byte) 0xFF) {
      last--;
    }
    byte[] end = java.util.Arrays.copyOf(prefix, last + 1);
    end[last]++;
    return end;
  }

  static boolean startsWith(byte[] key, byte[] prefix) {
    return key.length >= prefix.length
        && java.util.Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
