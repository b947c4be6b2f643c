/* loader_empty.c - a library found only through loader_host's RUNPATH. */
int loader_empty_answer(void)
{
	return 42;
}
