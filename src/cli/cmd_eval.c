/* shopseq eval (work in progress). */
#include <stdio.h>

#include "cli.h"

int sq_cmd_eval(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "shopseq eval: not implemented yet\n");
    return SQ_EXIT_FAIL;
}
