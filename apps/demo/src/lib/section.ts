/** What a section of the tour may use. */
export interface SectionContext {
  /** Prints one line of the story, prefixed with the section's tag. */
  say(line: string): void;
  /** The URL of a child entry built next to the CLI (dist/children/<name>.js). */
  child(name: string): URL;
}

/** One mechanism shown in real processes. */
export interface Section {
  /** Short name used on the command line. */
  name: string;
  /** One line saying what it shows. */
  title: string;
  run(ctx: SectionContext): Promise<void>;
}

/** The child entries live in dist/children next to dist/cli.js. */
export function childUrl(name: string): URL {
  return new URL(`./children/${name}.js`, import.meta.url);
}
