/* shopseq recommend (work in progress). */
#include <stdio.h>

#include "cli.h"

int sq_cmd_recommend(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "shopseq recommend: not implemented yet\n");
    return SQ_EXIT_FAIL;
}
