package dev.quiver.offline.export;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.file.Path;

/**
 * Reads a text file as strict UTF-8: a byte sequence that is not UTF-8 (including an encoded lone
 * surrogate) or a NUL character fails with a {@link BadText} naming the file, the line and the byte
 * offset, rather than being replaced or passed on. A leading byte order mark is skipped, as
 * spreadsheet programs write one.
 *
 * <p>Not thread-safe.
 */
final class Utf8Reader extends Reader {
  /** Text that is not UTF-8, or holds a NUL; the message says where. */
  static final class BadText extends IOException {
    BadText(String message) {
      super(message);
    }
  }

  private final InputStream in;
  private final Path file;
  private final CharsetDecoder decoder = dev.quiver.registry.util.StrictUtf8.newDecoder();
  private final ByteBuffer bytes = ByteBuffer.allocate(64 * 1024).flip();
  private final CharBuffer chars = CharBuffer.allocate(64 * 1024).flip();

  /** Bytes of the file before {@code bytes}' first byte. */
  private long consumed;

  /** Line of the next character decoded. */
  private long line = 1;

  private boolean first = true;
  private boolean eof;
  private boolean flushed;

  Utf8Reader(InputStream in, Path file) {
    this.in = in;
    this.file = file;
  }

  @Override
  public int read(char[] buffer, int offset, int length) throws IOException {
    if (length == 0) {
      return 0;
    }
    while (!chars.hasRemaining()) {
      if (flushed) {
        return -1;
      }
      fill();
    }
    int n = Math.min(length, chars.remaining());
    chars.get(buffer, offset, n);
    return n;
  }

  private void fill() throws IOException {
    chars.clear();
    while (chars.position() == 0 && !flushed) {
      if (!bytes.hasRemaining() && !eof) {
        consumed += bytes.position();
        bytes.clear();
        int n = in.read(bytes.array(), 0, bytes.capacity());
        bytes.limit(Math.max(n, 0));
        eof = n < 0;
      }
      int from = chars.position();
      CoderResult r = decoder.decode(bytes, chars, eof);
      scan(from);
      if (r.isError()) {
        int b = bytes.get(bytes.position()) & 0xff;
        throw new BadText(
            String.format(
                "%s:%d: not UTF-8 text: byte 0x%02x at byte offset %d is not valid UTF-8;"
                    + " save the entity table as UTF-8 CSV",
                file, line, b, consumed + bytes.position()));
      }
      if (r.isUnderflow() && bytes.hasRemaining() && !eof) {
        // An incomplete sequence at the end of the buffer: keep it and read more.
        consumed += bytes.position();
        bytes.compact();
        int n = in.read(bytes.array(), bytes.position(), bytes.remaining());
        if (n < 0) {
          eof = true;
        } else {
          bytes.position(bytes.position() + n);
        }
        bytes.flip();
      }
      if (eof && r.isUnderflow() && !bytes.hasRemaining()) {
        decoder.flush(chars);
        flushed = true;
      } else if (eof && r.isUnderflow()) {
        // The decoder left bytes at the end of the input: a truncated sequence.
        int b = bytes.get(bytes.position()) & 0xff;
        throw new BadText(
            String.format(
                "%s:%d: not UTF-8 text: the file ends inside a character (byte 0x%02x at byte"
                    + " offset %d); save the entity table as UTF-8 CSV",
                file, line, b, consumed + bytes.position()));
      }
    }
    chars.flip();
    if (first && chars.hasRemaining()) {
      first = false;
      if (chars.get(0) == '\uFEFF') {
        chars.position(1);
      }
    }
  }

  private void scan(int from) throws BadText {
    for (int i = from; i < chars.position(); i++) {
      char c = chars.get(i);
      if (c == '\n') {
        line++;
      } else if (c == '\0') {
        throw new BadText(
            file
                + ":"
                + line
                + ": a NUL character (byte 0x00), so not UTF-8 text but binary data or UTF-16;"
                + " save the entity table as UTF-8 CSV");
      }
    }
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
