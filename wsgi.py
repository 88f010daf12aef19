from recruit import create_app

app = create_app()
