package dev.quiver.registry.util;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * What Quiver takes for text: strict UTF-8. Malformed sequences — bytes of another encoding,
 * overlong forms, encoded UTF-16 surrogates, code points past U+10FFFF — are refused, never
 * replaced with U+FFFD, since a replaced character changes the value (and can make two keys one).
 * Registry files and source records are decoded here alike.
 *
 * <p>Stateless and thread-safe.
 */
public final class StrictUtf8 {
  private StrictUtf8() {}

  /** The bytes are not UTF-8 text. */
  public static final class MalformedException extends Exception {
    private static final long serialVersionUID = 1L;
    private final int byteOffset;
    private final int badByte;

    MalformedException(int byteOffset, int badByte) {
      super("invalid UTF-8 at byte offset " + byteOffset, null, false, false);
      this.byteOffset = byteOffset;
      this.badByte = badByte;
    }

    /** Where the first malformed sequence starts, in bytes from the start. */
    public int byteOffset() {
      return byteOffset;
    }

    /** The first byte of that sequence, 0 to 255. */
    public int badByte() {
      return badByte;
    }
  }

  /** A decoder that reports malformed input instead of replacing it; for reading streams. */
  public static CharsetDecoder newDecoder() {
    return StandardCharsets.UTF_8
        .newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
  }

  /** The text of {@code bytes}, positioned at 0 and limited to its length. */
  public static CharBuffer decode(byte[] bytes) throws MalformedException {
    CharsetDecoder decoder = newDecoder();
    ByteBuffer in = ByteBuffer.wrap(bytes);
    CharBuffer out = CharBuffer.allocate(bytes.length);
    CoderResult result = decoder.decode(in, out, true);
    if (!result.isError()) {
      result = decoder.flush(out);
    }
    if (result.isError()) {
      int at = in.position();
      throw new MalformedException(at, at < bytes.length ? bytes[at] & 0xFF : 0);
    }
    out.flip();
    return out;
  }
}
