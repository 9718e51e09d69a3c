/* shopseq train (work in progress). */
#include <stdio.h>

#include "cli.h"

int sq_cmd_train(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "shopseq train: not implemented yet\n");
    return SQ_EXIT_FAIL;
}
