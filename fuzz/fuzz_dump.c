/*
 * fuzz_dump.c -- `bxkd-replay dump` (replay/dump.c) on any file, as text
 * and as JSON lines, run in-process with its output thrown away. It ends
 * done, failed, or shown up to a cut (3), the same way both times.
 */
#include "config.h"

#include "fuzz_input.h"
#include "replay.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_silence_stdout();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = (char *)fuzz_write_file(data, size);
	char name[] = "dump", json[] = "--json";
	char *text_argv[] = { name, path, NULL };
	char *json_argv[] = { name, path, json, NULL };

	int text = replay_dump(2, text_argv);
	FUZZ_ASSERT(text == REPLAY_EXIT_DONE || text == REPLAY_EXIT_FAILED ||
			    text == REPLAY_EXIT_MATCHED_TO_CUT,
		    "dump exited %d", text);
	int json_status = replay_dump(3, json_argv);
	FUZZ_ASSERT(json_status == text, "dump exited %d, dump --json %d", text, json_status);
	return 0;
}
