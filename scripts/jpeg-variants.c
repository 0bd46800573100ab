/* Writes JPEG layouts Pillow's encoder cannot make (restart intervals, 4:4:0, 4:1:1), for the decoder
 * fixtures of make-resize-goldens.py, which compiles and runs it once (cc jpeg-variants.c -ljpeg).
 * usage: jpeg-variants OUT.jpg WIDTH HEIGHT QUALITY H0 V0 RESTART_MCUS PROGRESSIVE < RGB_BYTES
 * Component 0 (Y) gets sampling H0 x V0, Cb and Cr 1 x 1. */
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>

int main(int argc, char **argv) {
  if (argc != 9) { fprintf(stderr, "usage: %s OUT W H Q H0 V0 RESTART PROG < rgb\n", argv[0]); return 2; }
  int w = atoi(argv[2]), h = atoi(argv[3]), q = atoi(argv[4]);
  unsigned char *rgb = malloc((size_t)w * h * 3);
  if (fread(rgb, 1, (size_t)w * h * 3, stdin) != (size_t)w * h * 3) { fprintf(stderr, "short input\n"); return 1; }
  FILE *out = fopen(argv[1], "wb");
  if (!out) { perror(argv[1]); return 1; }
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, out);
  c.image_width = w;
  c.image_height = h;
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, q, TRUE);
  c.comp_info[0].h_samp_factor = atoi(argv[5]);
  c.comp_info[0].v_samp_factor = atoi(argv[6]);
  c.comp_info[1].h_samp_factor = c.comp_info[1].v_samp_factor = 1;
  c.comp_info[2].h_samp_factor = c.comp_info[2].v_samp_factor = 1;
  c.restart_interval = (unsigned)atoi(argv[7]);
  if (atoi(argv[8])) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = rgb + (size_t)c.next_scanline * w * 3;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  fclose(out);
  free(rgb);
  return 0;
}
