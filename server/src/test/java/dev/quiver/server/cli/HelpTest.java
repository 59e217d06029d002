package dev.quiver.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The command lists of {@code quiver --help} (and of commands with subcommands): every command's
 * summary is a whole sentence, never one cut at the end of a description line.
 */
class HelpTest {

  @Test
  void topLevelHelpListsEveryCommandWithItsWholeFirstSentence() {
    CliTest.Result r = CliTest.run("--help");
    assertThat(r.exit()).isZero();
    checkList(QuiverCommand.commandLine(), r.out());
  }

  @Test
  void nestedCommandListsShowWholeSentencesToo() {
    CommandLine quiver = QuiverCommand.commandLine();
    for (String parent : List.of("registry", "monitor")) {
      CliTest.Result r = CliTest.run(parent, "--help");
      assertThat(r.exit()).isZero();
      checkList(quiver.getSubcommands().get(parent), r.out());
    }
  }

  @Test
  void commandSummariesFitOnOneLineOfTheList() {
    CommandLine quiver = QuiverCommand.commandLine();
    Map<String, String> listed = listed(CliTest.run("--help").out());
    int width = quiver.getCommandSpec().usageMessage().width();
    int names = listed.keySet().stream().mapToInt(String::length).max().orElse(0);
    for (Map.Entry<String, CommandLine> c : quiver.getSubcommands().entrySet()) {
      String[] description = c.getValue().getCommandSpec().usageMessage().description();
      if (description.length == 0 || !sentence(description[0])) {
        continue; // covered by the whole-sentence check; such a summary may wrap
      }
      assertThat(description[0])
          .as("the summary of %s (the first line of its description)", c.getKey())
          .isEqualTo(firstSentence(description));
      // Two spaces of indent, the names, two spaces, the summary.
      assertThat(2 + names + 2 + listed.get(c.getKey()).length())
          .as("the summary line of %s in quiver --help", c.getKey())
          .isLessThanOrEqualTo(width);
    }
  }

  /** Every subcommand of {@code parent} is listed in {@code help} with its first sentence. */
  private static void checkList(CommandLine parent, String help) {
    Map<String, String> listed = listed(help);
    assertThat(listed.keySet()).containsAll(parent.getSubcommands().keySet());
    for (Map.Entry<String, CommandLine> c : parent.getSubcommands().entrySet()) {
      CommandLine.Model.UsageMessageSpec usage = c.getValue().getCommandSpec().usageMessage();
      String expected =
          usage.header().length > 0 ? usage.header()[0] : firstSentence(usage.description());
      assertThat(listed.get(c.getKey()))
          .as("the summary of %s in the help of %s", c.getKey(), parent.getCommandName())
          .isEqualTo(expected);
      assertThat(sentence(expected)).as("%s's summary %s is a sentence", c.getKey(), expected);
    }
  }

  /** The commands of a help message's list, each with its summary's wrapped lines joined. */
  private static Map<String, String> listed(String help) {
    Map<String, String> out = new LinkedHashMap<>();
    List<String> lines = help.lines().toList();
    int at = lines.indexOf("Commands:");
    assertThat(at).as("a command list in %s", help).isNotNegative();
    String name = null;
    List<String> text = new ArrayList<>();
    for (String line : lines.subList(at + 1, lines.size())) {
      if (line.isBlank()) {
        break;
      }
      String trimmed = line.strip();
      if (line.startsWith("  ") && !line.startsWith("   ")) {
        if (name != null) {
          out.put(name, String.join(" ", text));
        }
        int space = trimmed.indexOf(' ');
        name = space < 0 ? trimmed : trimmed.substring(0, space);
        text = new ArrayList<>();
        if (space > 0) {
          text.add(trimmed.substring(space).strip());
        }
      } else {
        text.add(trimmed);
      }
    }
    if (name != null) {
      out.put(name, String.join(" ", text));
    }
    return out;
  }

  private static String firstSentence(String[] description) {
    String text = String.join(" ", description).strip();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if ((c == '.' || c == '?' || c == '!')
          && (i + 1 == text.length() || Character.isWhitespace(text.charAt(i + 1)))) {
        return text.substring(0, i + 1);
      }
    }
    return text;
  }

  private static boolean sentence(String s) {
    return s.endsWith(".") || s.endsWith("?") || s.endsWith("!");
  }
}
