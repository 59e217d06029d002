package dev.quiver.registry.load;

import dev.quiver.registry.Location;
import dev.quiver.registry.util.StrictUtf8;
import java.io.IOException;
import java.io.InputStream;
import java.nio.CharBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import org.yaml.snakeyaml.reader.StreamReader;

/**
 * The text of one registry file, read whole and checked before the YAML parser sees it: at most
 * {@link #MAX_BYTES} bytes, UTF-8 (a leading byte order mark is dropped), and no control characters
 * YAML forbids. Each check that fails names the file and, where there is one, the line and column.
 *
 * <p>The text is held as code points so that {@link #reader()} can hand the YAML scanner a reader
 * whose every operation is constant time: SnakeYAML's own reader copies its whole unread window on
 * each 1 KB refill, which makes one long scalar cost time quadratic in its length.
 */
final class RegistryText {
  /** The largest registry file accepted, in bytes. */
  static final int MAX_BYTES = 16 * 1024 * 1024;

  private static final int BOM = 0xFEFF;

  private final String name;
  private final int[] codePoints;

  private RegistryText(String name, int[] codePoints) {
    this.name = name;
    this.codePoints = codePoints;
  }

  /** Why a file cannot be read as registry text, at a location in it. */
  static final class Unreadable extends Exception {
    private final Location at;

    Unreadable(Location at, String message) {
      super(message, null, false, false);
      this.at = at;
    }

    Location at() {
      return at;
    }
  }

  /**
   * Reads and checks {@code file}, named {@code name} in messages.
   *
   * @throws Unreadable when the file cannot be read, is too large, is not UTF-8 or holds a
   *     character YAML does not allow
   */
  static RegistryText read(Path file, String name) throws Unreadable {
    byte[] bytes = bytes(file, name);
    CharBuffer chars;
    try {
      chars = StrictUtf8.decode(bytes);
    } catch (StrictUtf8.MalformedException e) {
      CharBuffer before;
      try {
        before = StrictUtf8.decode(java.util.Arrays.copyOf(bytes, e.byteOffset()));
      } catch (StrictUtf8.MalformedException impossible) {
        throw new IllegalStateException(impossible);
      }
      throw new Unreadable(
          position(name, before),
          String.format(
              Locale.ROOT,
              "not UTF-8 text (invalid byte 0x%02X at byte offset %d); registry files are UTF-8",
              e.badByte(),
              e.byteOffset()));
    }
    int[] points = chars.codePoints().toArray();
    int start = points.length > 0 && points[0] == BOM ? 1 : 0;
    int line = 1;
    int column = 1;
    for (int i = start; i < points.length; i++) {
      int c = points[i];
      if (!StreamReader.isPrintable(c)) {
        throw new Unreadable(
            new Location(name, line, column),
            String.format(
                Locale.ROOT,
                "control character U+%04X is not allowed in a registry file (binary data?)",
                c));
      }
      if (c == '\n' || (c == '\r' && (i + 1 == points.length || points[i + 1] != '\n'))) {
        line++;
        column = 1;
      } else if (c == 0x85 || c == 0x2028 || c == 0x2029) {
        line++;
        column = 1;
      } else if (c != BOM) {
        column++;
      }
    }
    if (start == 1) {
      points = java.util.Arrays.copyOfRange(points, 1, points.length);
    }
    return new RegistryText(name, points);
  }

  private static byte[] bytes(Path file, String name) throws Unreadable {
    Location whole = new Location(name, 1, 1);
    try (InputStream in = Files.newInputStream(file)) {
      byte[] bytes = in.readNBytes(MAX_BYTES + 1);
      if (bytes.length > MAX_BYTES) {
        throw new Unreadable(
            whole,
            "file is larger than "
                + MAX_BYTES / (1024 * 1024)
                + " MiB, the most a registry file may hold; split it into several files");
      }
      return bytes;
    } catch (AccessDeniedException e) {
      throw new Unreadable(whole, "cannot read file: permission denied");
    } catch (NoSuchFileException e) {
      throw new Unreadable(whole, "cannot read file: it no longer exists");
    } catch (IOException e) {
      throw new Unreadable(
          whole,
          "cannot read file: "
              + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
    }
  }

  /** The line and column just after {@code text}, counted as the YAML parser counts them. */
  private static Location position(String name, CharBuffer text) {
    int line = 1;
    int column = 1;
    for (int i = 0; i < text.limit(); i++) {
      char c = text.get(i);
      if (c == '\n' || (c == '\r' && (i + 1 == text.limit() || text.get(i + 1) != '\n'))) {
        line++;
        column = 1;
      } else if (!Character.isLowSurrogate(c) && c != BOM) {
        column++;
      }
    }
    return new Location(name, line, column);
  }

  /** A YAML reader over this text, whose every operation takes constant time. */
  StreamReader reader() {
    return new WholeTextReader(name, codePoints);
  }

  /**
   * A {@link StreamReader} over text already in memory. It keeps SnakeYAML's counting of index,
   * line and column exactly, but never copies the text.
   */
  private static final class WholeTextReader extends StreamReader {
    private final String name;
    private final int[] data;
    private int pointer;
    private int documentIndex;
    private int line;
    private int column;

    WholeTextReader(String name, int[] data) {
      super(java.io.Reader.nullReader());
      this.name = name;
      this.data = data;
    }

    @Override
    public org.yaml.snakeyaml.error.Mark getMark() {
      return new org.yaml.snakeyaml.error.Mark(name, pointer, line, column, data, pointer);
    }

    @Override
    public void forward() {
      forward(1);
    }

    @Override
    public void forward(int length) {
      for (int i = 0; i < length && pointer < data.length; i++) {
        int c = data[pointer++];
        documentIndex++;
        boolean lineBreak =
            c == '\n'
                || c == 0x85
                || c == 0x2028
                || c == 0x2029
                || (c == '\r' && (pointer == data.length || data[pointer] != '\n'));
        if (lineBreak) {
          line++;
          column = 0;
        } else if (c != BOM) {
          column++;
        }
      }
    }

    @Override
    public int peek() {
      return pointer < data.length ? data[pointer] : 0;
    }

    @Override
    public int peek(int index) {
      return pointer + index < data.length ? data[pointer + index] : 0;
    }

    @Override
    public String prefix(int length) {
      if (length == 0) {
        return "";
      }
      return new String(data, pointer, Math.min(length, data.length - pointer));
    }

    @Override
    public String prefixForward(int length) {
      String s = prefix(length);
      pointer += length;
      documentIndex += length;
      column += length;
      return s;
    }

    @Override
    public int getColumn() {
      return column;
    }

    @Override
    public int getDocumentIndex() {
      return documentIndex;
    }

    @Override
    public void resetDocumentIndex() {
      documentIndex = 0;
    }

    @Override
    public int getIndex() {
      return pointer;
    }

    @Override
    public int getLine() {
      return line;
    }
  }
}
